using System.Text.Json.Nodes;
using SharpLM.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Checkpoints;

public class SafetensorsCheckpointTests
{
    static (string Name, Tensor Tensor)[] Weights()
    {
        torch.manual_seed(3);
        return
        [
            ("model.embed_tokens.weight", randn(16, 8)),                              // 512 bytes
            ("model.layers.0.self_attn.q_proj.weight", randn(8, 8).to(ScalarType.BFloat16)), // 128
            ("model.layers.0.mlp.up_proj.weight", randn(32, 8)),                      // 1,024: a shard of its own
            ("model.norm.weight", ones(8)),                                           // 32
        ];
    }

    [Fact]
    public void Sharded_weights_are_split_at_the_size_limit_indexed_and_read_back_in_their_dtype_or_converted()
    {
        using var dir = new TempDirectory();
        var weights = Weights();
        SafetensorsCheckpoint.Write(dir.Path, weights, maxShardBytes: 700);
        var index = JsonNode.Parse(File.ReadAllText(dir.File(SafetensorsCheckpoint.IndexFile)))!;
        Assert.Equal(512 + 128 + 1024 + 32, (long)index["metadata"]!["total_size"]!);
        var map = index["weight_map"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!);
        Assert.Equal("model-00001-of-00003.safetensors", map["model.embed_tokens.weight"]);
        Assert.Equal("model-00001-of-00003.safetensors", map["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["model.layers.0.mlp.up_proj.weight"]);
        Assert.Equal("model-00003-of-00003.safetensors", map["model.norm.weight"]);
        Assert.False(File.Exists(dir.File(SafetensorsCheckpoint.SingleFile)));

        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(weights.Select(w => w.Name).Order(), checkpoint.Names.Order());
        foreach (var (name, t) in weights)
        {
            using var read = checkpoint.Read(name);
            Assert.Equal(t.dtype, read.dtype);
            Assert.True(t.Equals(read), name);
        }
        using var f32 = checkpoint.Read("model.layers.0.self_attn.q_proj.weight", ScalarType.Float32);
        Assert.True(weights[1].Tensor.to(ScalarType.Float32).Equals(f32));
    }

    [Fact]
    public void Saving_again_leaves_only_the_new_weights_single_or_sharded()
    {
        using var dir = new TempDirectory();
        var weights = Weights();
        SafetensorsCheckpoint.Write(dir.Path, weights, maxShardBytes: 700);
        SafetensorsCheckpoint.Write(dir.Path, weights);
        Assert.Equal([SafetensorsCheckpoint.SingleFile], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        SafetensorsCheckpoint.Write(dir.Path, weights, maxShardBytes: 1100);
        Assert.Equal(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", SafetensorsCheckpoint.IndexFile],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(4, checkpoint.Names.Count());
    }

    [Theory]
    [InlineData("../elsewhere.safetensors", "is not a .safetensors file name in the folder")]
    [InlineData("sub/model-00001-of-00003.safetensors", "is not a .safetensors file name in the folder")]
    [InlineData("model-00009-of-00009.safetensors", "weight_map.model.embed_tokens.weight: model-00009-of-00009.safetensors does not exist")]
    [InlineData("model-00003-of-00003.safetensors", "is mapped to model-00003-of-00003.safetensors")]
    public void A_forged_index_is_refused_naming_the_entry(string shard, string problem)
    {
        using var dir = new TempDirectory();
        SafetensorsCheckpoint.Write(dir.Path, Weights(), maxShardBytes: 700);
        string indexPath = dir.File(SafetensorsCheckpoint.IndexFile);
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!;
        index["weight_map"]!["model.embed_tokens.weight"] = shard;
        File.WriteAllText(indexPath, index.ToJsonString());
        var e = Assert.Throws<InvalidInputException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_index_naming_a_tensor_its_shard_lacks_and_a_folder_without_weights_are_refused()
    {
        using var dir = new TempDirectory();
        Assert.Contains("no model.safetensors or model.safetensors.index.json", Assert.Throws<InvalidInputException>(() => SafetensorsCheckpoint.Open(dir.Path)).Message);
        SafetensorsCheckpoint.Write(dir.Path, Weights(), maxShardBytes: 700);
        string indexPath = dir.File(SafetensorsCheckpoint.IndexFile);
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!;
        index["weight_map"]!["lm_head.weight"] = "model-00003-of-00003.safetensors";
        File.WriteAllText(indexPath, index.ToJsonString());
        Assert.Contains("weight_map.lm_head.weight: model-00003-of-00003.safetensors has no such tensor",
            Assert.Throws<InvalidInputException>(() => SafetensorsCheckpoint.Open(dir.Path)).Message);
        File.WriteAllText(indexPath, "{\"weight_map\": 3}");
        Assert.Contains("weight_map missing or not an object", Assert.Throws<InvalidInputException>(() => SafetensorsCheckpoint.Open(dir.Path)).Message);
    }
}
