namespace SharpLM.Evaluation.CodeExecution;

/// <summary>How a sandboxed program is kept from the host, weakest first (so levels compare with &lt; and &gt;).</summary>
public enum IsolationLevel
{
    /// <summary>
    /// Only the in-process Python guard (human-eval's reliability_guard plus disabled sockets) and resource limits.
    /// Code that knows it is guarded can get around it; files anywhere the user may write are at risk.
    /// </summary>
    PreambleOnly,

    /// <summary>unshare: own network namespace (no network at all), PID namespace and /proc; files are NOT isolated.</summary>
    UnshareNet,

    /// <summary>bubblewrap: read-only system, private /tmp, only the work directory writable, no network, own PIDs, no capabilities.</summary>
    Bubblewrap,
}

/// <summary>An isolation level that was tried here and works, with what it protects.</summary>
/// <param name="Level">The level.</param>
/// <param name="Description">One line for reports: what the level protects, and what it does not.</param>
/// <param name="ProcessLimitEnforced">Whether RLIMIT_NPROC stops forks here (the kernel exempts root).</param>
public sealed record SandboxIsolation(IsolationLevel Level, string Description, bool ProcessLimitEnforced)
{
    /// <summary>unshare needs a user namespace when not run as root.</summary>
    internal bool UserNamespace { get; init; }

    /// <summary>The command that runs <paramref name="python"/> (and its arguments) under this isolation.</summary>
    internal IReadOnlyList<string> Command(string workDir, IReadOnlyList<string> python) => Level switch
    {
        IsolationLevel.Bubblewrap => [.. Bubblewrap(workDir), "--", .. python],
        IsolationLevel.UnshareNet => [.. Unshare(UserNamespace), "--", .. python],
        _ => python,
    };

    static IReadOnlyList<string> Bubblewrap(string workDir) =>
    [
        "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
        "--bind", workDir, workDir, "--chdir", workDir,
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session",
        // Run as root, bwrap keeps every capability by default, and CAP_SYS_ADMIN can remount / read-write.
        "--cap-drop", "ALL",
    ];

    // --kill-child: killing unshare kills the program, and when the program (PID 1 of its namespace) dies the
    // kernel kills everything else in that namespace, so the timeout reaches every descendant. --mount-proc: the
    // program sees only its own processes, which is also what the runner counts for RLIMIT_NPROC.
    static IReadOnlyList<string> Unshare(bool userNamespace) =>
        ["unshare", .. userNamespace ? ["--user"] : Array.Empty<string>(), "--net", "--pid", "--fork", "--kill-child", "--mount-proc"];

    /// <summary>A level as described, before a probe has shown that it works.</summary>
    internal static SandboxIsolation Untested(IsolationLevel level, bool userNamespace = false) =>
        new(level, Describe(level), ProcessLimitEnforced: false) { UserNamespace = userNamespace };

    static string Describe(IsolationLevel level) => level switch
    {
        IsolationLevel.Bubblewrap => "bubblewrap: read-only filesystem except the work directory, private /tmp, no network, own PID namespace, no capabilities",
        IsolationLevel.UnshareNet => "unshare: no network, own PID namespace and /proc; the filesystem is NOT isolated (only the Python guard protects files)",
        _ => "Python guard only (weakest): sockets, subprocesses and destructive os calls disabled in-process; no OS isolation",
    };
}
