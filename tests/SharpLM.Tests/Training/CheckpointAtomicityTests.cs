using SharpLM.IO;
using SharpLM.Training;
using TorchSharp;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Training;

public class CheckpointAtomicityTests
{
    [Fact]
    public void Crash_before_rename_keeps_the_old_file_whole()
    {
        using var dir = new TempDirectory();
        AtomicFile.WriteAllText(dir.File("f.json"), "old");
        AtomicFile.BeforeRename = _ => throw new IOException("simulated crash");
        try
        {
            Assert.Throws<IOException>(() => AtomicFile.WriteAllText(dir.File("f.json"), "new"));
        }
        finally
        {
            AtomicFile.BeforeRename = null;
        }
        Assert.Equal("old", File.ReadAllText(dir.File("f.json")));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Crash_between_weights_and_manifest_leaves_the_previous_checkpoint_loadable()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        string run = dir.File("run");
        new Trainer(TinyRuns.Config(maxIters: 10, evalInterval: 10), data, run).Run(false);
        var before = Checkpoint.ReadManifest(run);

        Checkpoint.BeforeManifest = () => throw new IOException("simulated crash");
        try
        {
            var (model, manifest) = Checkpoint.LoadModel(run, torch.CPU);
            Assert.Throws<IOException>(() => Checkpoint.Save(run, model, null, manifest with { Step = 20 }));
        }
        finally
        {
            Checkpoint.BeforeManifest = null;
        }
        var after = Checkpoint.ReadManifest(run);
        Assert.Equal(before, after);
        Checkpoint.LoadModel(run, torch.CPU); // hashes still match: old files untouched
    }

    [Fact]
    public void Corrupted_weights_are_detected_by_hash()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        string run = dir.File("run");
        new Trainer(TinyRuns.Config(maxIters: 5, evalInterval: 5), data, run).Run(false);
        string weights = Path.Combine(run, Checkpoint.ReadManifest(run).ModelFile);
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadModel(run, torch.CPU));
        Assert.Contains(Path.GetFileName(weights), e.Message);
        Assert.Contains("SHA-256", e.Message);
    }
}
