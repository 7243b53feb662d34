using SharpLM.Training;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Cli;

/// <summary>Every kind of bad input ends in one line naming the file or option, a non-zero exit, no stack trace.</summary>
public class CliErrorTests
{
    static void AssertOneLineError(CliProcess.Result r, string mustContain)
    {
        Assert.NotEqual(0, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 1, "no error printed");
        string error = lines[^1];
        Assert.StartsWith("error: ", error);
        Assert.Contains(mustContain, error);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void Missing_data_file()
    {
        using var dir = new TempDirectory();
        AssertOneLineError(CliProcess.Run("pretrain", "--data", dir.File("missing.txt"), "--out", dir.File("run")), "missing.txt");
    }

    [Fact]
    public void Unknown_option_and_bad_value()
    {
        using var dir = new TempDirectory();
        AssertOneLineError(CliProcess.Run("pretrain", "--out", dir.File("run"), "--n_layerz", "3"), "--n_layerz");
        AssertOneLineError(CliProcess.Run("pretrain", "--out", dir.File("run"), "--max-iters", "lots"), "lots");
        AssertOneLineError(CliProcess.Run("sample", "--checkpoint", dir.Path), "checkpoint.json");
    }

    [Fact]
    public void Bad_sampling_value_on_a_good_checkpoint()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        new Trainer(TinyRuns.Config(maxIters: 2, evalInterval: 2), data, dir.File("run")).Run(false);
        AssertOneLineError(CliProcess.Run("sample", "--checkpoint", dir.File("run"), "--top-p", "0"), "--top-p");
        AssertOneLineError(CliProcess.Run("tokenizer", "decode", "--tokenizer", "gpt2", "--ids", "99999999999"), "--ids");
    }

    [Fact]
    public void Resume_with_other_options_names_the_field()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        string[] common = { "pretrain", "--data", data, "--out", dir.File("run"), "--n_layer", "1", "--n_embd", "16", "--block_size", "8", "--eval_iters", "1", "--threads", "1" };
        var first = CliProcess.Run([.. common, "--max-iters", "4", "--eval-interval", "2"]);
        Assert.True(first.ExitCode == 0, first.Stderr);
        AssertOneLineError(CliProcess.Run([.. common, "--max-iters", "4", "--eval-interval", "2"]), "--resume");
        AssertOneLineError(CliProcess.Run([.. common, "--max-iters", "6", "--eval-interval", "2", "--resume"]), "training.max_iters");
    }

    [Fact]
    public void Corrupt_checkpoint_and_tokenizer_files()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        string run = dir.File("run");
        new Trainer(TinyRuns.Config(maxIters: 2, evalInterval: 2), data, run).Run(false);

        string weights = Path.Combine(run, Checkpoint.ReadManifest(run).ModelFile);
        byte[] original = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, original[..(original.Length / 2)]);
        AssertOneLineError(CliProcess.Run("sample", "--checkpoint", run, "--max-new-tokens", "3"), Path.GetFileName(weights));
        File.WriteAllBytes(weights, original);

        File.WriteAllText(Path.Combine(run, "tokenizer.json"), "{ not json");
        AssertOneLineError(CliProcess.Run("sample", "--checkpoint", run, "--max-new-tokens", "3"), "tokenizer.json");

        File.WriteAllText(Path.Combine(run, Checkpoint.ManifestFile), "[]");
        AssertOneLineError(CliProcess.Run("eval", "ppl", "--checkpoint", run, "--data", Path.Combine(dir.Path, "input.txt")), Checkpoint.ManifestFile);
    }

    [Fact]
    public void Checkpoint_for_another_model()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        new Trainer(TinyRuns.Config(maxIters: 2, evalInterval: 2), data, dir.File("a")).Run(false);
        var wide = TinyRuns.Config(maxIters: 2, evalInterval: 2) with { Model = TinyRuns.Model() with { NEmbd = 64 } };
        new Trainer(wide, data, dir.File("b")).Run(false);
        // Put b's weights under a's manifest: same file name, hashes fixed up, so only the shapes disagree.
        var ma = Checkpoint.ReadManifest(dir.File("a"));
        var mb = Checkpoint.ReadManifest(dir.File("b"));
        File.Copy(Path.Combine(dir.File("b"), mb.ModelFile), Path.Combine(dir.File("a"), ma.ModelFile), overwrite: true);
        string manifest = File.ReadAllText(Path.Combine(dir.File("a"), Checkpoint.ManifestFile)).Replace(ma.ModelSha256, mb.ModelSha256);
        File.WriteAllText(Path.Combine(dir.File("a"), Checkpoint.ManifestFile), manifest);
        AssertOneLineError(CliProcess.Run("sample", "--checkpoint", dir.File("a"), "--max-new-tokens", "3"), ma.ModelFile);
    }

    [Fact]
    public void Truncated_token_shard()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        string train = Path.Combine(data, "train.bin");
        File.WriteAllBytes(train, File.ReadAllBytes(train)[..100]);
        AssertOneLineError(CliProcess.Run("pretrain", "--data", data, "--out", dir.File("run"), "--max-iters", "2"), "train.bin");
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("x.txt"), "some text");
        var r = CliProcess.Run("eval", "ppl", "--checkpoint", dir.Path, "--data", dir.File("x.txt"), "--verbose");
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("error: ", r.Stderr);
        Assert.Contains($"{dir.Path}: is not a SharpLM run directory", r.Stderr);
        Assert.Contains("   at ", r.Stderr); // the stack trace follows the one-line error
    }
}
