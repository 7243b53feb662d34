using System.Text.Json;

namespace SharpLM.Tests.Cli;

public class CliEndToEndTests
{
    [Fact]
    public void Prepare_pretrain_sample_and_eval_through_the_command_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("corpus.txt"), string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 80)));
        var prep = CliProcess.Run("data", "prepare", "--input", dir.File("corpus.txt"), "--tokenizer", "char", "--out", dir.File("data"));
        Assert.True(prep.ExitCode == 0, prep.Stderr);

        var train = CliProcess.Run("pretrain", "--preset", "shakespeare-char", "--data", dir.File("data"), "--out", dir.File("run"),
            "--max-iters", "30", "--eval-interval", "10", "--eval_iters", "2", "--n_layer", "1", "--n_embd", "32", "--block_size", "16", "--threads", "1");
        Assert.True(train.ExitCode == 0, train.Stderr + train.Stdout);
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("run"), "summary.json"))))
        {
            foreach (string key in new[] { "final_train_loss", "final_val_loss", "iters", "median_ms_per_iter", "tokens_per_second", "params", "mfu", "wall_seconds" })
                Assert.True(summary.RootElement.TryGetProperty(key, out _), $"summary.json lacks {key}");
            Assert.Equal(30, summary.RootElement.GetProperty("iters").GetInt32());
        }
        var firstStep = JsonDocument.Parse(File.ReadLines(Path.Combine(dir.File("run"), "metrics.jsonl")).Skip(1).First()).RootElement;
        foreach (string key in new[] { "step", "train_loss", "lr", "ms_per_iter", "tokens_per_second" })
            Assert.True(firstStep.TryGetProperty(key, out _), $"step record lacks {key}");

        var sample = CliProcess.Run("sample", "--checkpoint", dir.File("run"), "--prompt", "the ", "--max-new-tokens", "20", "--seed", "1");
        Assert.True(sample.ExitCode == 0, sample.Stderr);
        Assert.StartsWith("the ", sample.Stdout);
        Assert.True(sample.Stdout.TrimEnd('\n').Length >= 5);

        var eval = CliProcess.Run("eval", "ppl", "--checkpoint", dir.File("run"), "--data", dir.File("corpus.txt"));
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        var json = JsonDocument.Parse(eval.Stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.InRange(json.GetProperty("perplexity").GetDouble(), 1.0, 30.0);

        var tok = CliProcess.Run("tokenizer", "train", "--input", dir.File("corpus.txt"), "--vocab-size", "300", "--out", dir.File("tok"));
        Assert.True(tok.ExitCode == 0, tok.Stderr);
        var enc = CliProcess.Run("tokenizer", "encode", "--tokenizer", dir.File("tok"), "--text", "the lazy dog");
        var dec = CliProcess.Run("tokenizer", "decode", "--tokenizer", dir.File("tok"), "--ids", enc.Stdout.Trim());
        Assert.Equal("the lazy dog", dec.Stdout.TrimEnd('\n'));
    }
}
