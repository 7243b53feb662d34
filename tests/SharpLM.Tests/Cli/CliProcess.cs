using System.Diagnostics;

namespace SharpLM.Tests.Cli;

/// <summary>Runs the real `sharplm` (SharpLM.Cli.dll, copied beside the tests) as a child process.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"sharplm {string.Join(' ', args)} did not finish");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// A run of the shakespeare-char preset shrunk to 1 layer × 32 (context 32), trained by `sharplm pretrain` for
    /// <paramref name="iters"/> steps on the test corpus, in dir/run (its prepared data in run/data).
    /// </summary>
    public static string PretrainTiny(TempDirectory dir, int iters = 40)
    {
        File.WriteAllText(dir.File("corpus.txt"), string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 80)));
        string n = iters.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var train = Run("pretrain", "--preset", "shakespeare-char", "--data", dir.File("corpus.txt"), "--out", dir.File("run"),
            "--max-iters", n, "--eval-interval", n, "--eval_iters", "1", "--n_layer", "1", "--n_embd", "32", "--block_size", "32", "--threads", "1");
        Assert.True(train.ExitCode == 0, train.Stderr + train.Stdout);
        return dir.File("run");
    }
}
