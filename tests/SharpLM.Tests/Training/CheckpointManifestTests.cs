using System.Diagnostics;
using System.Text.Json.Nodes;
using SharpLM.Modeling;
using SharpLM.Training;
using TorchSharp;
using Xunit.Abstractions;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Training;

/// <summary>checkpoint.json may come from a stranger: the files it names and the sizes it declares are checked before use.</summary>
public class CheckpointManifestTests(ITestOutputHelper output)
{
    /// <summary>A real, small checkpoint in <paramref name="dir"/>; returns its manifest as JSON to tamper with.</summary>
    static JsonObject SaveSmall(string dir)
    {
        using var model = LanguageModel.Create(new ModelConfig { VocabSize = 11, NEmbd = 16, NHead = 2, NLayer = 1, BlockSize = 8 });
        Checkpoint.Save(dir, model, null, new CheckpointManifest { Step = 1, Model = model.Config, ModelFile = "", ModelSha256 = "" });
        return JsonNode.Parse(File.ReadAllText(Path.Combine(dir, Checkpoint.ManifestFile)))!.AsObject();
    }

    static void Rewrite(string dir, JsonObject manifest) => File.WriteAllText(Path.Combine(dir, Checkpoint.ManifestFile), manifest.ToJsonString());

    [Fact]
    public void A_small_checkpoint_still_loads()
    {
        using var dir = new TempDirectory();
        SaveSmall(dir.Path);
        var (model, manifest) = Checkpoint.LoadModel(dir.Path, torch.CPU);
        using (model) Assert.Equal(16, manifest.Model.NEmbd);
    }

    [Fact]
    public void A_config_demanding_terabytes_is_refused_before_allocation()
    {
        using var dir = new TempDirectory();
        var manifest = SaveSmall(dir.Path);
        manifest["model"]!["n_embd"] = 1_000_000; // 4 layers of 10^12 weights each: 16 TB of fp32
        manifest["model"]!["n_head"] = 4;
        Rewrite(dir.Path, manifest);
        string path = dir.File(Checkpoint.ManifestFile);

        var read = Assert.Throws<InvalidInputException>(() => Checkpoint.ReadManifest(dir.Path));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var load = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadModel(dir.Path, torch.CPU));
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{clock.Elapsed.TotalMilliseconds:F0} ms, {allocated / 1024.0:F0} KiB allocated: {load.Message}");
        Assert.Equal(read.Message, load.Message);
        Assert.StartsWith($"{path}: model (vocab_size 11, n_embd 1000000, n_layer 1, block_size 8): declares at least", load.Message);
        Assert.Contains("more than model-000001.bin", load.Message);
        Assert.True(allocated < 4 << 20, $"allocated {allocated:N0} bytes");
    }

    [Theory]
    [InlineData("model_file", "/etc/passwd")]
    [InlineData("model_file", "../x.bin")]
    [InlineData("model_file", "sub/model.bin")]
    [InlineData("optimizer_file", "/etc/shadow")]
    public void A_weight_file_outside_the_run_directory_is_refused(string field, string name)
    {
        using var dir = new TempDirectory();
        var manifest = SaveSmall(dir.Path);
        manifest[field] = name;
        Rewrite(dir.Path, manifest);
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.ReadManifest(dir.Path));
        Assert.Equal($"{dir.File(Checkpoint.ManifestFile)}: {field}: '{name}' must be a bare file name in the same directory", e.Message);
    }

    [Fact]
    public void An_oversized_manifest_is_refused_without_reading_it()
    {
        using var dir = new TempDirectory();
        using (var f = File.Create(dir.File(Checkpoint.ManifestFile))) f.SetLength(SharpLM.Runtime.Json.MaxFileBytes + 1); // sparse: no disk, no time
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.ReadManifest(dir.Path));
        Assert.StartsWith($"{dir.File(Checkpoint.ManifestFile)}: 16,777,217 bytes is too large", e.Message);
    }
}
