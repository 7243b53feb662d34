using System.Text.Json.Nodes;
using SharpLM.Checkpoints;
using static TorchSharp.torch;

namespace SharpLM.Tests.Checkpoints;

public class HfCheckpointTests
{
    static string Config(string extra = "") =>
        "{\"model_type\": \"gpt2\", \"n_embd\": 32, \"n_layer\": 2, \"n_head\": 4, \"vocab_size\": 50, \"n_positions\": 16" + extra + "}";

    static readonly string Reference = TestData.Fixture(Path.Combine("checkpoints", "hf_reference.py"));

    // Realistic layouts at small widths: GQA (8 query heads over 2 key/value heads), Llama 3.1's rope_scaling with a
    // short original context so that most channels are stretched within the test's 40 positions, Mistral's window
    // shorter than the sequence, Qwen2's biases, tied head and shards.
    static readonly Dictionary<string, JsonObject> Families = new()
    {
        ["gpt2"] = new() { ["n_embd"] = 64, ["n_layer"] = 3, ["n_head"] = 4, ["vocab_size"] = 300, ["n_positions"] = 64, ["n_inner"] = 200, ["activation_function"] = "gelu_new" },
        ["llama"] = new()
        {
            ["hidden_size"] = 128, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 8, ["num_key_value_heads"] = 2, ["intermediate_size"] = 344,
            ["vocab_size"] = 300, ["max_position_embeddings"] = 131072, ["rope_theta"] = 500000.0, ["rms_norm_eps"] = 1e-5, ["tie_word_embeddings"] = false,
            ["hidden_act"] = "silu", ["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 32 },
        },
        ["mistral"] = new()
        {
            ["hidden_size"] = 128, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 8, ["num_key_value_heads"] = 2, ["intermediate_size"] = 448,
            ["vocab_size"] = 300, ["max_position_embeddings"] = 4096, ["rope_theta"] = 10000.0, ["rms_norm_eps"] = 1e-5, ["sliding_window"] = 8, ["hidden_act"] = "silu",
        },
        ["qwen2"] = new()
        {
            ["hidden_size"] = 128, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["intermediate_size"] = 352,
            ["vocab_size"] = 300, ["max_position_embeddings"] = 1024, ["rope_theta"] = 1000000.0, ["rms_norm_eps"] = 1e-6, ["tie_word_embeddings"] = true,
            ["use_sliding_window"] = false, ["sliding_window"] = 4096, ["max_window_layers"] = 2, ["hidden_act"] = "silu",
        },
    };

    static readonly long[][] Ids = [Enumerable.Range(0, 40).Select(i => (long)(i * 37 % 300)).ToArray(), Enumerable.Range(0, 40).Select(i => (long)(299 - i * 11 % 300)).ToArray()];

    static double[] ReferenceLogits(JsonObject request)
    {
        request["ids"] = new JsonArray(Ids.Select(r => (JsonNode)new JsonArray(r.Select(i => (JsonNode)i).ToArray())).ToArray());
        var logits = PythonTorch.RunJson(Reference, request)["logits"]!.AsArray().Select(v => (double)v!).ToArray();
        Assert.True(logits.Select(Math.Abs).Max() > 1, "the reference logits are too small to tell anything apart");
        return logits;
    }

    static float[] Logits(SharpLM.Modeling.Gpt model)
    {
        using var _ = no_grad();
        return model.forward(tensor(Ids.SelectMany(r => r).ToArray()).reshape(Ids.Length, Ids[0].Length)).flatten().to(ScalarType.Float32).data<float>().ToArray();
    }

    static double Worst(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        return expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
    }

    [PythonTorchTheory]
    [InlineData("gpt2", 1)]
    [InlineData("llama", 1)]
    [InlineData("mistral", 1)]
    [InlineData("qwen2", 3)]
    public void A_folder_of_each_family_gives_the_logits_of_transformers_computation_and_so_does_its_export(string family, int shards)
    {
        using var dir = new TempDirectory();
        string imported = dir.File("hf"), exported = dir.File("export");
        double[] expected = ReferenceLogits(new JsonObject
        {
            ["mode"] = "make", ["dir"] = imported, ["family"] = family, ["config"] = Families[family].DeepClone(), ["shards"] = shards, ["legacy_buffers"] = true,
        });
        var model = HfCheckpoint.Load(imported);
        float[] ours = Logits(model);
        double worst = Worst(expected, ours);
        Assert.True(worst <= 1e-4, $"{family}: largest logit difference {worst}");

        // SharpLM's export loads in the reference with the same logits, and back in SharpLM as the same model.
        Assert.Equal(family, HfCheckpoint.Save(model, exported, maxShardBytes: 200_000).ModelType);
        Assert.True(File.Exists(Path.Combine(exported, SafetensorsCheckpoint.IndexFile)), "a 200 kB shard limit splits the weights");
        double exportWorst = Worst(ReferenceLogits(new JsonObject { ["mode"] = "logits", ["dir"] = exported }), ours);
        Assert.True(exportWorst <= 1e-4, $"{family} export: largest logit difference {exportWorst}");
        var reloaded = HfCheckpoint.Load(exported);
        Assert.Equal(model.Config, reloaded.Config);
        Assert.Equal(ours, Logits(reloaded));
    }

    [PythonTorchFact]
    public void Rope_scaling_and_the_sliding_window_change_the_logits_beyond_the_tolerance()
    {
        // The family test could pass with either ignored if they did not matter at the test's length; they do.
        using var dir = new TempDirectory();
        foreach (var (family, without) in new (string, Func<SharpLM.Modeling.ModelConfig, SharpLM.Modeling.ModelConfig>)[]
                 { ("llama", c => c with { RopeScaling = null }), ("mistral", c => c with { SlidingWindow = 0 }) })
        {
            double[] expected = ReferenceLogits(new JsonObject { ["mode"] = "make", ["dir"] = dir.File(family), ["family"] = family, ["config"] = Families[family].DeepClone() });
            var model = HfCheckpoint.Load(dir.File(family));
            var plain = new SharpLM.Modeling.Gpt(without(model.Config));
            plain.load_state_dict(model.state_dict());
            plain.eval();
            Assert.True(Worst(expected, Logits(plain)) > 1e-2, $"{family}: the logits hardly depend on the feature");
        }
    }

    [PythonTorchFact]
    public void A_sharded_bf16_checkpoint_loads_to_float32_and_to_bfloat16()
    {
        using var dir = new TempDirectory();
        double[] expected = ReferenceLogits(new JsonObject
        {
            ["mode"] = "make", ["dir"] = dir.Path, ["family"] = "llama", ["config"] = Families["llama"].DeepClone(), ["shards"] = 2, ["dtype"] = "BF16",
        });
        var f32 = HfCheckpoint.Load(dir.Path);
        Assert.True(Worst(expected, Logits(f32)) <= 1e-4);
        var bf16 = HfCheckpoint.Load(dir.Path, ScalarType.BFloat16);
        foreach (var (name, p) in bf16.state_dict())
        {
            Assert.Equal(ScalarType.BFloat16, p.dtype);
            Assert.True(p.to(ScalarType.Float32).Equals(f32.state_dict()[name]), $"{name} differs between the two loads");
        }
    }

    [Theory]
    [InlineData("{\"model_type\": \"bert\"}", "model_type 'bert' is not supported (supported: gpt2, llama, mistral, qwen2)")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 9, \"intermediate_size\": 8, \"max_position_embeddings\": 8, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}", "rope_scaling.rope_type 'yarn' is not supported")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 9, \"intermediate_size\": 8, \"max_position_embeddings\": 8, \"head_dim\": 32}", "head_dim 32 is not supported")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 9, \"intermediate_size\": 8, \"max_position_embeddings\": 8, \"hidden_act\": \"gelu\"}", "hidden_act 'gelu' is not supported")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 9, \"intermediate_size\": 8, \"max_position_embeddings\": 8, \"attention_bias\": true}", "attention_bias true is not supported")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 9, \"max_position_embeddings\": 8}", "intermediate_size is missing")]
    [InlineData("{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 9, \"intermediate_size\": 8, \"max_position_embeddings\": 8, \"use_sliding_window\": true}", "use_sliding_window true is not supported")]
    [InlineData("{\"n_embd\": 8}", "model_type '' is not supported")]
    [InlineData("{\"model_type\": \"gpt2\", \"activation_function\": \"quick_gelu\"}", "activation_function 'quick_gelu' is not supported")]
    [InlineData("{\"model_type\": \"gpt2\", \"scale_attn_by_inverse_layer_idx\": true}", "scale_attn_by_inverse_layer_idx true is not supported")]
    [InlineData("{\"model_type\": \"gpt2\", \"n_layer\": -2}", "n_layer must be a non-negative integer")]
    [InlineData("{\"model_type\": \"gpt2\", \"n_embd\": 30, \"n_head\": 4}", "n_embd must be a positive multiple of n_head")]
    [InlineData("[1]", "must be a JSON object")]
    public void An_unsupported_config_is_refused_naming_the_field(string json, string problem)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), json);
        var e = Assert.Throws<InvalidInputException>(() => HfCheckpoint.ReadConfig(dir.Path));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith(dir.File("config.json"), e.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_config_or_a_tied_head_that_is_not_the_embedding_are_refused_naming_the_tensor()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), Config());
        var (config, family) = HfCheckpoint.ReadConfig(dir.Path);
        var state = new SharpLM.Modeling.Gpt(config).state_dict();
        var tensors = family.Weights(config).Select(w => (Key: w.Theirs.Single(), Value: w.Transposed ? state[w.Ours].t() : state[w.Ours])).ToList();
        SafetensorsCheckpoint.Write(dir.Path, tensors);
        HfCheckpoint.Load(dir.Path); // the complete set loads
        SafetensorsCheckpoint.Write(dir.Path, tensors.Where(t => t.Key != "ln_f.bias").ToList());
        Assert.Contains("tensor 'ln_f.bias' (for ln_f.bias) is missing", Assert.Throws<InvalidInputException>(() => HfCheckpoint.Load(dir.Path)).Message);
        SafetensorsCheckpoint.Write(dir.Path, tensors.Append(("h.9.attn.c_attn.weight", zeros(2))).ToList());
        Assert.Contains("tensor 'h.9.attn.c_attn.weight' is not part of a gpt2 model", Assert.Throws<InvalidInputException>(() => HfCheckpoint.Load(dir.Path)).Message);
        // A tied head saved beside the embedding must be the embedding.
        var embedding = tensors.Single(t => t.Key == "wte.weight").Value;
        SafetensorsCheckpoint.Write(dir.Path, tensors.Append(("lm_head.weight", embedding.clone())).ToList());
        HfCheckpoint.Load(dir.Path);
        SafetensorsCheckpoint.Write(dir.Path, tensors.Append(("lm_head.weight", embedding + 1)).ToList());
        Assert.Contains("tensor 'lm_head.weight' differs from the token embedding, but config.json ties them", Assert.Throws<InvalidInputException>(() => HfCheckpoint.Load(dir.Path)).Message);
        SafetensorsCheckpoint.Write(dir.Path, tensors.Select(t => t.Key == "wpe.weight" ? (t.Key, zeros(8, 32)) : t).ToList());
        Assert.Contains("tensor 'wpe.weight' has shape [8, 32]; config.json implies [16, 32]", Assert.Throws<InvalidInputException>(() => HfCheckpoint.Load(dir.Path)).Message);
    }

    [Theory]
    [InlineData("{\"token_shift\": 2}", "token_shift 2")]
    [InlineData("{\"architecture\": \"prefix_decoder\"}", "architecture 'prefix_decoder'")]
    [InlineData("{\"norm\": \"rmsnorm\", \"activation\": \"gelu\", \"position_encoding\": \"rope\", \"bias\": false}", "llama: activation 'gelu'")]
    public void A_model_no_family_describes_is_refused_on_export_naming_the_field(string overrides, string problem)
    {
        var config = System.Text.Json.JsonSerializer.Deserialize<SharpLM.Modeling.ModelConfig>(overrides, SharpLM.Runtime.Json.Options)! with { NEmbd = 32, NHead = 4, NLayer = 1, BlockSize = 8 };
        using var dir = new TempDirectory();
        var e = Assert.Throws<InvalidInputException>(() => HfCheckpoint.Save(new SharpLM.Modeling.Gpt(config), dir.Path));
        Assert.Contains(problem, e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void A_llama_shaped_model_with_a_window_exports_as_mistral_and_with_qkv_biases_as_qwen2()
    {
        var llama = new SharpLM.Modeling.ModelConfig
        {
            NEmbd = 32, NHead = 4, NKvHead = 2, NLayer = 1, BlockSize = 16, Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", Bias = false,
        };
        Assert.Equal("llama", HfModelFamily.ForExport(llama).ModelType);
        Assert.Equal("mistral", HfModelFamily.ForExport(llama with { SlidingWindow = 4 }).ModelType);
        Assert.Equal("qwen2", HfModelFamily.ForExport(llama with { QkvBias = true }).ModelType);
        Assert.Contains("cannot export as qwen2: qkv_bias false", Assert.Throws<InvalidInputException>(() => HfModelFamily.ForExport(llama, "qwen2")).Message);
    }
}
