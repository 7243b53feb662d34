namespace SharpLM.Sandbox;

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
    /// Under bubblewrap, the size of each of the program's two tmpfs mounts (/tmp and the work directory): all it may
    /// write in total, held in memory and gone with the run. Weaker levels write to the host's disk (only
    /// <see cref="MaxFileBytes"/> per file applies there).
    /// </summary>
    public long MaxDiskBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Processes and threads the program may add: the limit of the run's pids cgroup where one can be made (root on
    /// cgroup v1, or v2 with pids delegated), and RLIMIT_NPROC headroom over what its user already runs (which the
    /// kernel waives for root). <see cref="SandboxIsolation.ProcessLimitEnforced"/> says whether either holds here.
    /// </summary>
    public int MaxProcesses { get; init; } = 64;

    /// <summary>
    /// A command on PATH or a path; it is resolved once to the interpreter's real path. The default "python3" means
    /// /usr/bin/python3 when that exists (bubblewrap then binds nothing but /usr), else python3 on PATH.
    /// </summary>
    public string PythonExecutable { get; init; } = DefaultPython;

    /// <summary>The bubblewrap command or path (a path that does not exist makes bubblewrap unavailable).</summary>
    public string BubblewrapExecutable { get; init; } = "bwrap";

    /// <summary>
    /// Exactly this isolation (failing if it does not work here), or null: bubblewrap, or, only with
    /// <see cref="AllowWeakIsolation"/>, the strongest level that works.
    /// </summary>
    public IsolationLevel? Isolation { get; init; }

    /// <summary>
    /// Whether code may run under a weaker level than bubblewrap (unshare, or the Python guard alone) when bubblewrap
    /// does not work here. Off by default: without bubblewrap, <see cref="CodeSandbox.CreateAsync"/> refuses and
    /// harnesses skip code tasks with the reason.
    /// </summary>
    public bool AllowWeakIsolation { get; init; }

    internal const string DefaultPython = "python3";

    /// <summary>The interpreter to start: <see cref="PythonExecutable"/>, with the default preferring the system's.</summary>
    internal string PythonToRun => PythonExecutable == DefaultPython && File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : PythonExecutable;

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "must be positive");
        if (MemoryLimitBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MemoryLimitBytes), MemoryLimitBytes, "must be positive");
        if (MaxOutputBytes < 0) throw new ArgumentOutOfRangeException(nameof(MaxOutputBytes), MaxOutputBytes, "must not be negative");
        if (MaxFileBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MaxFileBytes), MaxFileBytes, "must be positive");
        if (MaxDiskBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MaxDiskBytes), MaxDiskBytes, "must be positive");
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
    /// <summary>
    /// The program returned normally: the runner printed this run's secret nonce after its last statement (the
    /// line is removed from <see cref="Stdout"/>). An exit, exec or kill before the end leaves it out.
    /// </summary>
    public bool Completed { get; init; }

    /// <summary>
    /// Ran to its end (<see cref="Completed"/>) and exited with 0 within the time limit: for a benchmark program,
    /// every test ran and passed. Exit code 0 alone is not enough: a program that exec's /bin/true exits 0 too.
    /// </summary>
    public bool Passed => ExitCode == 0 && !TimedOut && Completed;
}

/// <summary>
/// Code cannot be executed here: no isolation that may be used works (by default, bubblewrap), or the interpreter is
/// missing. Harnesses report the benchmark as skipped (the message says why) rather than scoring it 0.
/// </summary>
public class SandboxUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Code cannot be executed here because the Python interpreter is missing or broken. Harnesses report the
/// benchmark as skipped (the message says why) rather than scoring it 0.
/// </summary>
public sealed class PythonNotFoundException(string message, Exception? inner = null) : SandboxUnavailableException(message, inner);
