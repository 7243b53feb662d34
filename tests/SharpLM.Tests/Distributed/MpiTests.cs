namespace SharpLM.Tests.Distributed;

public class MpiTests
{
    [OpenMpiFact]
    public void Collectives_give_exact_sums_and_blocks_across_two_and_three_ranks()
    {
        foreach (int ranks in new[] { 2, 3 })
        {
            var (exit, output) = OpenMpi.RunCli(ranks, "mpi", "check", "--sizes", "999,4096");
            Assert.True(exit == 0, output);
            Assert.Contains($"MPI: {ranks} ranks", output);
            // 999 floats over 3 ranks: 333 per block; the table names each collective at both sizes.
            foreach (string collective in new[] { "allreduce", "reduce_scatter", "allgather" })
                Assert.Equal(2, output.Split('\n').Count(l => l.StartsWith($"| {collective} |", StringComparison.Ordinal) && l.Contains("| yes |")));
        }
    }

    [Fact]
    public void A_bad_size_is_refused_in_one_line_naming_the_option()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll"), "mpi", "check", "--sizes", "12,zero" }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("--sizes: 'zero' is not a positive count", err);
    }
}
