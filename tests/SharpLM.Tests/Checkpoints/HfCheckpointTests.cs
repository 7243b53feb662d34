using System.Text.Json.Nodes;
using SharpLM.Checkpoints;
using static TorchSharp.torch;

namespace SharpLM.Tests.Checkpoints;

public class HfCheckpointTests
{
    static string Config(string extra = "") =>
        "{\"model_type\": \"gpt2\", \"n_embd\": 32, \"n_layer\": 2, \"n_head\": 4, \"vocab_size\": 50, \"n_positions\": 16" + extra + "}";

    [PythonTorchFact]
    public void A_gpt2_folder_gives_the_logits_of_huggingfaces_gpt2_computation()
    {
        using var dir = new TempDirectory();
        long[][] ids = [[1, 5, 9, 2, 40, 7, 7, 3, 11, 0], [49, 48, 1, 2, 3, 4, 5, 6, 7, 8]];
        var response = PythonTorch.RunJson(TestData.Fixture(Path.Combine("checkpoints", "hf_gpt2_reference.py")), new JsonObject
        {
            ["dir"] = dir.Path, ["ids"] = new JsonArray(ids.Select(r => (JsonNode)new JsonArray(r.Select(i => (JsonNode)i).ToArray())).ToArray()),
            ["n_embd"] = 64, ["n_layer"] = 3, ["n_head"] = 4, ["vocab_size"] = 50, ["n_positions"] = 32,
        });
        var model = HfCheckpoint.Load(dir.Path);
        Assert.Equal(("gelu_tanh", 32, 64, 3), (model.Config.Activation, model.Config.BlockSize, model.Config.NEmbd, model.Config.NLayer));
        using var _ = no_grad();
        var logits = model.forward(tensor(ids.SelectMany(r => r).ToArray()).reshape(2, 10)).flatten().data<float>().ToArray();
        double[] expected = response["logits"]!.AsArray().Select(v => (double)v!).ToArray();
        Assert.Equal(expected.Length, logits.Length);
        double worst = expected.Zip(logits, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= 1e-4, $"largest logit difference {worst}");
        Assert.True(expected.Select(Math.Abs).Max() > 1, "the reference logits are too small to tell anything apart");
    }

    [Theory]
    [InlineData("{\"model_type\": \"bert\"}", "model_type 'bert' is not supported (supported: gpt2)")]
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
        var tensors = family.Weights(config).Select(w => (Key: w.Theirs, Value: w.Transposed ? state[w.Ours].t() : state[w.Ours])).ToList();
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
}
