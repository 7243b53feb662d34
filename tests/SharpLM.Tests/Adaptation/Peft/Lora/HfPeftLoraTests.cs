using System.Text.Json.Nodes;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Checkpoints;
using SharpLM.Modeling;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Peft.Lora;

public class HfPeftLoraTests(ITestOutputHelper output)
{
    // Llama-shaped: RMSNorm, SwiGLU, RoPE, no biases, GQA (4 query heads over 2 key/value heads), untied head.
    static readonly ModelConfig Llama = new()
    {
        VocabSize = 64, BlockSize = 32, NLayer = 2, NHead = 4, NKvHead = 2, NEmbd = 32, Norm = "rmsnorm", Activation = "swiglu",
        PositionEncoding = "rope", Bias = false, TieEmbeddings = false, InitStd = 0.1,
    };

    // GPT-2-shaped: LayerNorm, gelu_new, learned positions, biases, tied head.
    static readonly ModelConfig Gpt2 = new() { VocabSize = 64, BlockSize = 32, NLayer = 2, NHead = 4, NEmbd = 32, Activation = "gelu_tanh", InitStd = 0.1 };

    static readonly long[][] Ids = [[1, 5, 9, 33, 2, 17, 60, 8, 3, 12], [63, 0, 7, 7, 21, 40, 11, 2, 9, 30]];

    static Gpt Base(ModelConfig config)
    {
        torch.manual_seed(3);
        var model = new Gpt(config);
        model.eval();
        return model;
    }

    /// <summary>LoRA on <paramref name="targets"/> with B drawn at random (a fresh B is zero and would hide every mapping error).</summary>
    static LoraTuning Adapted(ModelConfig config, params string[] targets)
    {
        var lora = LoraTuning.Apply(Base(config), new LoraOptions { Rank = 4, Alpha = 12, TargetModules = targets }, "base");
        torch.manual_seed(11);
        using var _ = no_grad();
        foreach (var layer in lora.Layers) layer.B.copy_(randn(layer.B.shape) * 0.3);
        lora.Model.eval();
        return lora;
    }

    static Tensor Logits(Gpt model)
    {
        using var _ = no_grad();
        return model.forward(tensor(Ids.SelectMany(r => r).ToArray()).reshape(Ids.Length, Ids[0].Length));
    }

    static Dictionary<string, long[]> Tensors(string dir)
    {
        using var file = SafetensorsFile.Open(Path.Combine(dir, HfPeftLora.WeightsFile));
        return file.Entries.ToDictionary(e => e.Name, e => e.Shape);
    }

    static JsonObject Config(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, AdapterDirectory.ConfigFile)))!.AsObject();

    [Fact]
    public void A_llama_lora_on_q_v_and_the_mlp_saves_under_peft_names_and_loads_back_to_the_same_logits()
    {
        using var dir = new TempDirectory();
        var lora = Adapted(Llama, "q", "v", "mlp.c_fc", "mlp.c_gate", "mlp.c_proj");
        var adapted = Logits(lora.Model);
        Assert.False(adapted.allclose(Logits(Base(Llama)), rtol: 0, atol: 1e-3), "the adapter must change the logits for the test to mean anything");
        HfPeftLora.Save(lora, dir.Path, "org/tiny-llama");

        long hidden = FeedForward.HiddenSize(Llama), q = 4 * 8, kv = 2 * 8;
        var expected = new Dictionary<string, long[]>();
        for (int i = 0; i < 2; i++)
        {
            string p = $"base_model.model.model.layers.{i}.";
            foreach (var (module, input, output) in new[] { ("self_attn.q_proj", 32L, q), ("self_attn.v_proj", 32L, kv), ("mlp.gate_proj", 32L, hidden), ("mlp.up_proj", 32L, hidden), ("mlp.down_proj", hidden, 32L) })
            {
                expected[$"{p}{module}.lora_A.weight"] = [4, input];
                expected[$"{p}{module}.lora_B.weight"] = [output, 4];
            }
        }
        var saved = Tensors(dir.Path);
        Assert.Equal(expected.Keys.Order(), saved.Keys.Order());
        foreach (var (name, shape) in expected) Assert.Equal(shape, saved[name]);

        var config = Config(dir.Path);
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);
        Assert.Equal(4, (int)config["r"]!);
        Assert.Equal(12.0, (double)config["lora_alpha"]!); // PEFT's scaling lora_alpha / r = SharpLM's alpha / rank = 3
        Assert.Equal(new[] { "down_proj", "gate_proj", "q_proj", "up_proj", "v_proj" }, config["target_modules"]!.AsArray().Select(t => (string)t!).Order());
        Assert.False((bool)config["fan_in_fan_out"]!);
        Assert.Equal("none", (string?)config["bias"]);
        Assert.False((bool)config["use_rslora"]!);
        Assert.True((bool)config["inference_mode"]!);
        Assert.Null(config["modules_to_save"]);
        Assert.Equal("org/tiny-llama", (string?)config["base_model_name_or_path"]);

        var fresh = Base(Llama);
        var loaded = Assert.IsType<LoraTuning>(PeftMethod.Load(dir.Path, fresh));
        fresh.eval();
        Assert.True(Logits(fresh).Equals(adapted), "a PEFT-layout adapter must load back to exactly the same logits");
        using var merged = loaded.ExportMerged();
        merged.eval();
        Assert.True(Logits(merged).allclose(adapted, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void A_gpt2_lora_saves_the_whole_conv1d_c_attn_with_fan_in_fan_out_and_full_names_where_a_short_one_would_choose_more()
    {
        using var dir = new TempDirectory();
        var lora = Adapted(Gpt2, "attn.c_attn", "attn.c_proj", "mlp.c_fc");
        var adapted = Logits(lora.Model);
        HfPeftLora.Save(lora, dir.Path);

        var saved = Tensors(dir.Path);
        Assert.Equal(12, saved.Count);
        Assert.Equal(new long[] { 4, 32 }, saved["base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"]);
        Assert.Equal(new long[] { 96, 4 }, saved["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"]);
        Assert.Equal(new long[] { 32, 4 }, saved["base_model.model.transformer.h.1.attn.c_proj.lora_B.weight"]);
        Assert.Equal(new long[] { 128, 4 }, saved["base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight"]);
        var config = Config(dir.Path);
        Assert.True((bool)config["fan_in_fan_out"]!);
        // "c_proj" alone would also choose the MLP's c_proj, which is not adapted.
        Assert.Equal(new[] { "c_attn", "c_fc", "transformer.h.0.attn.c_proj", "transformer.h.1.attn.c_proj" }, config["target_modules"]!.AsArray().Select(t => (string)t!).Order());

        var fresh = Base(Gpt2);
        PeftMethod.Load(dir.Path, fresh);
        fresh.eval();
        Assert.True(Logits(fresh).Equals(adapted));
    }

    [Theory]
    [InlineData("llama", "attn.c_attn", "h.0.attn.c_attn")] // Llama keeps q_proj, k_proj, v_proj apart
    [InlineData("gpt2", "q", "h.0.attn.q")]                 // GPT-2's c_attn is one Conv1D: PEFT cannot adapt its q rows alone
    public void A_lora_with_no_peft_counterpart_is_refused_naming_the_module(string family, string target, string module)
    {
        using var dir = new TempDirectory();
        var lora = Adapted(family == "llama" ? Llama : Gpt2, target);
        var e = Assert.Throws<InvalidInputException>(() => HfPeftLora.Save(lora, dir.Path));
        Assert.Contains(module, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, AdapterDirectory.ConfigFile)));
    }

    [Theory]
    [InlineData("use_dora", "true")]
    [InlineData("use_rslora", "true")]
    [InlineData("bias", "\"lora_only\"")]
    [InlineData("modules_to_save", "[\"lm_head\"]")]
    [InlineData("rank_pattern", "{\"q_proj\": 8}")]
    [InlineData("alpha_pattern", "{\"q_proj\": 32}")]
    [InlineData("layers_to_transform", "[0]")]
    [InlineData("init_lora_weights", "\"pissa\"")]
    [InlineData("peft_type", "\"IA3\"")]
    public void A_peft_config_field_sharplm_does_not_implement_is_refused_by_name_before_the_base_is_touched(string field, string value)
    {
        using var dir = new TempDirectory();
        HfPeftLora.Save(Adapted(Llama, "q", "v"), dir.Path);
        var config = Config(dir.Path);
        config[field] = JsonNode.Parse(value);
        File.WriteAllText(Path.Combine(dir.Path, AdapterDirectory.ConfigFile), config.ToJsonString());
        var fresh = Base(Llama);
        var e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, fresh));
        Assert.Contains(AdapterDirectory.ConfigFile, e.Message);
        Assert.Contains(field, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(PeftMethod.IsAdapted(fresh));
    }

    [Fact]
    public void Target_modules_and_tensors_that_disagree_are_refused_naming_the_tensor()
    {
        using var dir = new TempDirectory();
        HfPeftLora.Save(Adapted(Llama, "q", "v"), dir.Path);
        var config = Config(dir.Path);
        config["target_modules"] = new JsonArray("q_proj", "v_proj", "k_proj");
        File.WriteAllText(Path.Combine(dir.Path, AdapterDirectory.ConfigFile), config.ToJsonString());
        var e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, Base(Llama)));
        Assert.Contains("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", e.Message);

        config["target_modules"] = new JsonArray("q_proj");
        File.WriteAllText(Path.Combine(dir.Path, AdapterDirectory.ConfigFile), config.ToJsonString());
        e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, Base(Llama)));
        Assert.Contains("v_proj.lora_", e.Message);
    }

    static readonly string Reference = TestData.Fixture(Path.Combine("checkpoints", "peft_lora_reference.py"));

    [PythonTorchTheory]
    [InlineData("llama")]
    [InlineData("mistral")]
    [InlineData("qwen2")]
    [InlineData("gpt2")]
    public void A_saved_adapter_applied_to_the_exported_base_in_plain_pytorch_gives_sharplms_logits(string family)
    {
        using var dir = new TempDirectory();
        var lora = family switch
        {
            "llama" => Adapted(Llama, "q", "k", "v", "attn.c_proj", "*.mlp.*", "lm_head"),
            "mistral" => Adapted(Llama with { SlidingWindow = 4 }, "q", "v", "mlp.c_proj"), // exported as mistral
            "qwen2" => Adapted(Llama with { QkvBias = true }, "k", "v", "attn.c_proj"),     // exported as qwen2
            _ => Adapted(Gpt2, "attn.c_attn", "mlp.c_proj"),
        };
        var adapted = Logits(lora.Model).flatten().data<float>().ToArray();
        Assert.Equal(family, HfCheckpoint.Save(lora.Model, dir.File("base")).ModelType); // the base's own weights: the updates live beside them, unmerged
        HfPeftLora.Save(lora, dir.File("adapter"));

        var request = new JsonObject
        {
            ["dir"] = dir.File("base"), ["adapter"] = dir.File("adapter"),
            ["ids"] = new JsonArray(Ids.Select(r => (JsonNode)new JsonArray(r.Select(i => (JsonNode)i).ToArray())).ToArray()),
        };
        var reply = PythonTorch.RunJson(Reference, request);
        Assert.Equal(lora.Layers.Count, reply["modules"]!.AsArray().Count);
        var expected = reply["logits"]!.AsArray().Select(v => (double)v!).ToArray();
        Assert.Equal(expected.Length, adapted.Length);
        double worst = expected.Zip(adapted, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"{family}: {lora.Layers.Count} LoRA modules, largest logit difference to the PyTorch reference {worst:E2}");
        Assert.True(worst < 1e-4, $"largest difference {worst}");
    }
}
