using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpLM.Sandbox;

/// <summary>
/// What a child process did: exit code, whether it was killed at the deadline, its (capped) output, and whether
/// stdout ended with the expected trailer (removed from <see cref="Stdout"/>).
/// </summary>
internal sealed record ProcessOutcome(int ExitCode, bool TimedOut, string Stdout, string Stderr, bool OutputTruncated, TimeSpan Duration, bool TrailerSeen);

/// <summary>Runs one command with a deadline, capped output capture and a kill that reaches every descendant.</summary>
internal static partial class SandboxProcess
{
    /// <summary>How long output pipes may stay open after the kill (held by a process that escaped it) before we stop reading.</summary>
    static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    const int SigKill = 9;

    /// <param name="command">The executable and its arguments.</param>
    /// <param name="workDir">The child's working directory.</param>
    /// <param name="environment">The child's whole environment.</param>
    /// <param name="timeout">Wall-clock limit; the process tree is killed when it passes.</param>
    /// <param name="maxOutputBytes">Bytes of stdout and of stderr kept each.</param>
    /// <param name="input">Written to stdin, which is then closed.</param>
    /// <param name="trailer">The bytes stdout must end with for <see cref="ProcessOutcome.TrailerSeen"/>; removed from the kept output.</param>
    /// <param name="killGroup">Also kill the process group the child leads (the weakest level has no PID namespace to do it).</param>
    /// <param name="cgroup">The run's pids cgroup (the command already joins it): every member is killed at the end.</param>
    /// <param name="cancellation">Kills the process and throws.</param>
    /// <exception cref="System.ComponentModel.Win32Exception">The command's executable cannot be started.</exception>
    public static async Task<ProcessOutcome> RunAsync(IReadOnlyList<string> command, string workDir, IReadOnlyDictionary<string, string> environment,
        TimeSpan timeout, int maxOutputBytes, CancellationToken cancellation, string input = "", string trailer = "", bool killGroup = false, PidsCgroup? cgroup = null)
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
        var stdout = new CappedOutput(maxOutputBytes, Encoding.UTF8.GetBytes(trailer));
        var stderr = new CappedOutput(maxOutputBytes, []);
        using var stopReading = new CancellationTokenSource();
        var drained = Task.WhenAll(
            stdout.DrainAsync(process.StandardOutput.BaseStream, stopReading.Token),
            stderr.DrainAsync(process.StandardError.BaseStream, stopReading.Token));
        try
        {
            // A few bytes: they fit the pipe's buffer, so this cannot block on a program that never reads.
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close(); // input() sees end of file instead of waiting
        }
        catch (IOException) { } // it exited (or closed stdin) first: it then cannot complete either

        bool timedOut = false;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
        {
            deadline.CancelAfter(timeout);
            try { await process.WaitForExitAsync(deadline.Token); }
            catch (OperationCanceledException) { timedOut = !cancellation.IsCancellationRequested; }
        }
        var duration = clock.Elapsed;
        // Also after a normal exit: whatever the program left running in the background must not outlive it.
        KillEverything(process, killGroup);
        cgroup?.KillAll();
        await process.WaitForExitAsync(CancellationToken.None);
        if (await Task.WhenAny(drained, Task.Delay(DrainGrace, CancellationToken.None)) != drained) stopReading.Cancel();
        await drained;
        cancellation.ThrowIfCancellationRequested();
        return new ProcessOutcome(process.ExitCode, timedOut, stdout.Text, stderr.Text, stdout.Truncated || stderr.Truncated, duration, stdout.TrailerSeen);
    }

    static void KillEverything(Process process, bool killGroup)
    {
        // The runner made the interpreter a process-group leader. Without a PID namespace (the weakest level) the
        // group is what still reaches children that were orphaned and re-parented away from the process tree. Only
        // there: elsewhere no group has this number, and after the child was reaped the number may be another's.
        if (killGroup) _ = Signal(-process.Id, SigKill);
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // it had already exited and been reaped
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Signal(int pid, int signal);

    /// <summary>
    /// Reads a stream to its end, keeping only the first bytes (a flood must not block the program or fill memory)
    /// and the last few, to see whether it ended with the trailer however long it was.
    /// </summary>
    sealed class CappedOutput(int limit, byte[] trailer)
    {
        readonly MemoryStream kept = new();
        readonly byte[] tail = new byte[trailer.Length];
        long total;

        /// <summary>The stream's last bytes were the trailer.</summary>
        public bool TrailerSeen => trailer.Length > 0 && total >= trailer.Length && TailBytes().SequenceEqual(trailer);

        /// <summary>The output without the trailer was longer than what was kept.</summary>
        public bool Truncated => Content > KeptContent;

        public string Text => Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)KeptContent);

        long Content => total - (TrailerSeen ? trailer.Length : 0);
        long KeptContent => Math.Min(kept.Length, Content);

        byte[] TailBytes()
        {
            // tail is a ring over the stream's positions: byte p sits at p % length.
            var bytes = new byte[tail.Length];
            for (int i = 0; i < tail.Length; i++) bytes[i] = tail[(total - tail.Length + i) % tail.Length];
            return bytes;
        }

        public async Task DrainAsync(Stream stream, CancellationToken stop)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, stop)) > 0)
                {
                    int room = limit - (int)kept.Length;
                    if (room > 0) kept.Write(buffer, 0, Math.Min(room, read));
                    for (int i = Math.Max(0, read - tail.Length); i < read; i++) tail[(total + i) % tail.Length] = buffer[i];
                    total += read;
                }
            }
            catch (OperationCanceledException) { } // a process that escaped the kill holds the pipe: keep what we have
        }
    }
}
