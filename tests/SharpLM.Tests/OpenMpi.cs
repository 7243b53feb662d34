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

    /// <summary>The command line's assembly, next to the tests.</summary>
    public static string Cli => Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll");

    /// <summary>One application context of mpirun: `-np N -x OMP_NUM_THREADS=1 dotnet sharplm ARGS` (one libtorch thread per rank).</summary>
    public static IEnumerable<string> App(int ranks, IEnumerable<string> args) =>
        new[] { "-np", ranks.ToString(), "-x", "OMP_NUM_THREADS=1", "dotnet", Cli }.Concat(args);

    /// <summary>Starts mpirun (oversubscribed, allowed as root) with <paramref name="arguments"/>, output redirected.</summary>
    public static Process Start(IEnumerable<string> arguments)
    {
        var psi = new ProcessStartInfo("/usr/bin/mpirun") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--oversubscribe" }.Concat(arguments)) psi.ArgumentList.Add(a);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        return Process.Start(psi)!;
    }

    /// <summary>Waits (at most 3 minutes) for a started mpirun; exit code and output. <paramref name="beforeWaiting"/>
    /// runs while the output is being read (so the ranks never block on a full pipe).</summary>
    public static (int ExitCode, string Output) Finish(Process process, Action? beforeWaiting = null)
    {
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        beforeWaiting?.Invoke();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs `mpirun -np <paramref name="ranks"/> sharplm ARGS`; exit code and output.</summary>
    public static (int ExitCode, string Output) RunCli(int ranks, params string[] args)
    {
        using var process = Start(App(ranks, args));
        return Finish(process);
    }

    /// <summary>The process id of the rank mpirun started as <paramref name="rank"/>, or null while there is none.</summary>
    public static int? RankProcess(Process mpirun, int rank)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (parent != mpirun.Id) continue;
                string environ = File.ReadAllText(Path.Combine(dir, "environ"));
                if (environ.Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException) { } // the process ended while we looked
            catch (UnauthorizedAccessException) { }
        }
        return null;
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
