using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpLM.Evaluation.CodeExecution;

/// <summary>What a child process did: exit code, whether it was killed at the deadline, and its (capped) output.</summary>
internal sealed record ProcessOutcome(int ExitCode, bool TimedOut, string Stdout, string Stderr, bool OutputTruncated, TimeSpan Duration);

/// <summary>Runs one command with a deadline, capped output capture and a kill that reaches every descendant.</summary>
internal static partial class SandboxProcess
{
    /// <summary>How long output pipes may stay open after the kill (held by a process that escaped it) before we stop reading.</summary>
    static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    const int SigKill = 9;

    /// <exception cref="System.ComponentModel.Win32Exception">The command's executable cannot be started.</exception>
    public static async Task<ProcessOutcome> RunAsync(IReadOnlyList<string> command, string workDir, IReadOnlyDictionary<string, string> environment,
        TimeSpan timeout, int maxOutputBytes, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = workDir,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in command.Skip(1)) start.ArgumentList.Add(argument);
        // Only what the program needs: the host's variables may hold credentials (API keys of the model client).
        start.Environment.Clear();
        foreach (var (name, value) in environment) start.Environment[name] = value;

        using var process = new Process { StartInfo = start };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close(); // input() sees end of file instead of waiting
        var stdout = new CappedOutput(maxOutputBytes);
        var stderr = new CappedOutput(maxOutputBytes);
        using var stopReading = new CancellationTokenSource();
        var drained = Task.WhenAll(
            stdout.DrainAsync(process.StandardOutput.BaseStream, stopReading.Token),
            stderr.DrainAsync(process.StandardError.BaseStream, stopReading.Token));

        bool timedOut = false;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
        {
            deadline.CancelAfter(timeout);
            try { await process.WaitForExitAsync(deadline.Token); }
            catch (OperationCanceledException) { timedOut = !cancellation.IsCancellationRequested; }
        }
        var duration = clock.Elapsed;
        // Also after a normal exit: whatever the program left running in the background must not outlive it.
        KillEverything(process);
        await process.WaitForExitAsync(CancellationToken.None);
        if (await Task.WhenAny(drained, Task.Delay(DrainGrace, CancellationToken.None)) != drained) stopReading.Cancel();
        await drained;
        cancellation.ThrowIfCancellationRequested();
        return new ProcessOutcome(process.ExitCode, timedOut, stdout.Text, stderr.Text, stdout.Truncated || stderr.Truncated, duration);
    }

    static void KillEverything(Process process)
    {
        // The runner made the interpreter a process-group leader. Without a PID namespace (the weakest level) the
        // group is what still reaches children that were orphaned and re-parented away from the process tree.
        _ = Kill(-process.Id, SigKill);
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // it had already exited and been reaped
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Reads a stream to its end, keeping only the first bytes: a flood must not block the program or fill memory.</summary>
    sealed class CappedOutput(int limit)
    {
        readonly MemoryStream kept = new();
        long total;

        public bool Truncated => total > kept.Length;
        public string Text => Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);

        public async Task DrainAsync(Stream stream, CancellationToken stop)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, stop)) > 0)
                {
                    total += read;
                    int room = limit - (int)kept.Length;
                    if (room > 0) kept.Write(buffer, 0, Math.Min(room, read));
                }
            }
            catch (OperationCanceledException) { } // a process that escaped the kill holds the pipe: keep what we have
        }
    }
}
