namespace SharpLM.Evaluation.CodeExecution;

/// <summary>Limits for one sandboxed program run; the defaults suit HumanEval and MBPP.</summary>
public sealed record SandboxOptions
{
    /// <summary>Wall-clock limit; the whole process tree is killed when it passes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>RLIMIT_AS and RLIMIT_DATA of the interpreter: allocations beyond it raise MemoryError.</summary>
    public long MemoryLimitBytes { get; init; } = 1L << 30;

    /// <summary>Bytes of stdout and of stderr kept each; the rest is read and dropped so the program never blocks on a full pipe.</summary>
    public int MaxOutputBytes { get; init; } = 64 * 1024;

    /// <summary>RLIMIT_FSIZE: the largest file the program may write.</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;

    /// <summary>
    /// RLIMIT_NPROC headroom: processes and threads the program may add to those its user already runs. The kernel
    /// exempts root, so <see cref="SandboxIsolation.ProcessLimitEnforced"/> says whether it holds here.
    /// </summary>
    public int MaxProcesses { get; init; } = 64;

    /// <summary>A command on PATH or a path; it is resolved once to the interpreter's real path.</summary>
    public string PythonExecutable { get; init; } = "python3";

    /// <summary>Exactly this isolation (failing if it does not work here), or null for the strongest that works.</summary>
    public IsolationLevel? Isolation { get; init; }

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "must be positive");
        if (MemoryLimitBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MemoryLimitBytes), MemoryLimitBytes, "must be positive");
        if (MaxOutputBytes < 0) throw new ArgumentOutOfRangeException(nameof(MaxOutputBytes), MaxOutputBytes, "must not be negative");
        if (MaxFileBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MaxFileBytes), MaxFileBytes, "must be positive");
        if (MaxProcesses < 0) throw new ArgumentOutOfRangeException(nameof(MaxProcesses), MaxProcesses, "must not be negative");
    }
}

/// <summary>What one sandboxed run did.</summary>
/// <param name="ExitCode">The interpreter's exit code (or its wrapper's: 128 + signal when killed).</param>
/// <param name="TimedOut">The program passed <see cref="SandboxOptions.Timeout"/> and was killed.</param>
/// <param name="Stdout">What it wrote to stdout, decoded as UTF-8; at most <see cref="SandboxOptions.MaxOutputBytes"/> bytes kept.</param>
/// <param name="Stderr">What it wrote to stderr (a failed assert's traceback), kept the same way.</param>
/// <param name="OutputTruncated">Stdout or stderr was longer than <see cref="SandboxOptions.MaxOutputBytes"/>.</param>
/// <param name="Duration">From start until the program exited or was killed.</param>
/// <param name="Isolation">What protected the host during this run.</param>
public sealed record ExecutionResult(
    int ExitCode, bool TimedOut, string Stdout, string Stderr, bool OutputTruncated, TimeSpan Duration, IsolationLevel Isolation)
{
    /// <summary>Exit code 0 within the time limit: for a benchmark program, every test passed.</summary>
    public bool Passed => ExitCode == 0 && !TimedOut;
}

/// <summary>
/// Code cannot be executed here because the Python interpreter is missing or broken. Harnesses report the
/// benchmark as skipped (the message says why) rather than scoring it 0.
/// </summary>
public sealed class PythonNotFoundException(string message, Exception? inner = null) : Exception(message, inner);
