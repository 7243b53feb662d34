using System.Diagnostics;

namespace SharpLM.Tests;

/// <summary>Debian's OpenMPI for the tests that start several ranks: <c>mpirun</c> on PATH and <c>libmpi.so.40</c>.</summary>
internal static class OpenMpi
{
    /// <summary>Null when mpirun and libmpi are there, else why an MPI test is skipped.</summary>
    public static string? SkipReason =>
        File.Exists("/usr/bin/mpirun") && (File.Exists("/usr/lib/x86_64-linux-gnu/libmpi.so.40") || File.Exists("/usr/lib/aarch64-linux-gnu/libmpi.so.40"))
            ? null
            : "needs OpenMPI (mpirun and libmpi.so.40): apt-get install openmpi-bin";

    /// <summary>Runs `mpirun -np <paramref name="ranks"/> sharplm ARGS` (oversubscribed, allowed as root, one libtorch thread per rank); exit code and output.</summary>
    public static (int ExitCode, string Output) RunCli(int ranks, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/mpirun") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "-np", ranks.ToString(), "--oversubscribe", "-x", "OMP_NUM_THREADS=1", "dotnet", Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll") }.Concat(args))
            psi.ArgumentList.Add(a);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) process.Kill(entireProcessTree: true);
        return (process.ExitCode, stdout + stderr.Result);
    }
}

/// <summary>A fact that starts MPI ranks (<see cref="OpenMpi"/>); skipped with the reason where OpenMPI is missing.</summary>
internal sealed class OpenMpiFactAttribute : FactAttribute
{
    public OpenMpiFactAttribute()
    {
        if (OpenMpi.SkipReason is string reason) Skip = reason;
    }
}
