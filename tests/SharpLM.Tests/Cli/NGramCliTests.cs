using System.Text.Json;

namespace SharpLM.Tests.Cli;

public class NGramCliTests
{
    [DataFact("tinyshakespeare")]
    public void Train_writes_arpa_and_eval_of_the_arpa_file_reproduces_the_held_out_score()
    {
        using var dir = new TempDirectory();
        string text = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"))[..60_000];
        File.WriteAllText(dir.File("train.txt"), text[..50_000]);
        File.WriteAllText(dir.File("val.txt"), text[50_000..]);
        var train = CliProcess.Run("ngram", "train", "--data", dir.File("train.txt"), "--order", "4", "--unit", "char", "--out", dir.File("m.arpa"), "--eval", dir.File("val.txt"));
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.StartsWith("\n\\data\\", File.ReadAllText(dir.File("m.arpa")).Replace("\r", ""));
        var eval = CliProcess.Run("ngram", "eval", "--model", dir.File("m.arpa"), "--unit", "char", "--data", dir.File("val.txt"));
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        double trained = JsonDocument.Parse(train.Stdout).RootElement.GetProperty("bits_per_character").GetDouble();
        double loaded = JsonDocument.Parse(eval.Stdout).RootElement.GetProperty("bits_per_character").GetDouble();
        Assert.Equal(trained, loaded, 3);
        Assert.InRange(trained, 1.5, 4.0); // far below a uniform guess over ~60 characters (5.9 bits)

        var bad = CliProcess.Run("ngram", "train", "--data", dir.File("missing.txt"), "--out", dir.File("x.arpa"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("missing.txt", bad.Stderr);
    }
}
