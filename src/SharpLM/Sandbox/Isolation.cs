namespace SharpLM.Sandbox;

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

    /// <summary>
    /// bubblewrap: only the system's libraries and the interpreter are visible (read-only), a size-capped private /tmp
    /// and work directory, every namespace unshared (no network), no capabilities, a cleared environment.
    /// </summary>
    Bubblewrap,
}

/// <summary>An isolation level that was tried here and works, with what it protects.</summary>
/// <param name="Level">The level.</param>
/// <param name="Description">One line for reports: what the level protects, and what it does not.</param>
/// <param name="ProcessLimitEnforced">Whether a process limit stops forks here (a pids cgroup, or RLIMIT_NPROC, which the kernel waives for root).</param>
public sealed record SandboxIsolation(IsolationLevel Level, string Description, bool ProcessLimitEnforced)
{
    /// <summary>Host directories generated code must never see; the bubblewrap probe checks each is absent inside.</summary>
    internal static readonly string[] HiddenDirectories = ["/root", "/home", "/run", "/var", "/work", "/mnt", "/srv", "/opt", "/media"];

    /// <summary>Tasks of the run besides the program's additions: the interpreter, and bwrap's two or unshare's one.</summary>
    internal int OwnTasks => Level switch { IsolationLevel.Bubblewrap => 3, IsolationLevel.UnshareNet => 2, _ => 1 };

    /// <summary>unshare needs a user namespace when not run as root.</summary>
    internal bool UserNamespace { get; init; }

    /// <summary>The bubblewrap executable (a command on PATH or a path).</summary>
    internal string BubblewrapExecutable { get; init; } = "bwrap";

    /// <summary>Host directories bound read-only besides /usr: the interpreter's prefix when it lives elsewhere (pyenv under /root).</summary>
    internal IReadOnlyList<string> InterpreterDirectories { get; init; } = [];

    /// <summary>
    /// The command that runs <paramref name="python"/> (and its arguments) under this isolation. Under bubblewrap the
    /// work directory is a tmpfs of <paramref name="diskBytes"/> (like /tmp) with only <paramref name="programFile"/>
    /// bound into it, so nothing the program writes reaches the host's disk.
    /// </summary>
    internal IReadOnlyList<string> Command(string workDir, string? programFile, long diskBytes, IReadOnlyList<string> python) => Level switch
    {
        IsolationLevel.Bubblewrap => [.. Bubblewrap(workDir, programFile, diskBytes), "--", .. python],
        IsolationLevel.UnshareNet => [.. Unshare(UserNamespace), "--", .. python],
        _ => python,
    };

    /// <summary>The environment of the program: nothing of the host's (its variables may hold credentials).</summary>
    internal static Dictionary<string, string> Environment(string workDir) => new()
    {
        ["PATH"] = "/usr/local/bin:/usr/bin:/bin",
        // Home and temp files inside the work directory, so they go with it.
        ["HOME"] = workDir,
        ["TMPDIR"] = workDir,
        ["LANG"] = "C.UTF-8",
        ["PYTHONIOENCODING"] = "utf-8",
        ["PYTHONDONTWRITEBYTECODE"] = "1",
        ["PYTHONNOUSERSITE"] = "1",
        ["OMP_NUM_THREADS"] = "1", // as human-eval sets it
    };

    IReadOnlyList<string> Bubblewrap(string workDir, string? programFile, long diskBytes)
    {
        string size = diskBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var command = new List<string>
        {
            BubblewrapExecutable, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            // Run as root, bwrap keeps every capability by default, and CAP_SYS_ADMIN could remount what is bound.
            "--cap-drop", "ALL",
            // Not --ro-bind / /: the host's home directories, /run's sockets, /var and /work stay out of reach.
            "--ro-bind", "/usr", "/usr",
        };
        foreach (string top in new[] { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" })
        {
            var info = new FileInfo(top);
            if (info.LinkTarget is string target) command.AddRange(["--symlink", target, top]); // merged /usr: /lib -> usr/lib
            else if (Directory.Exists(top)) command.AddRange(["--ro-bind", top, top]);
        }
        // The dynamic loader's cache; python itself reads nothing else under /etc.
        foreach (string file in new[] { "/etc/ld.so.cache", "/etc/localtime" })
            if (File.Exists(file)) command.AddRange(["--ro-bind", file, file]);
        foreach (string dir in InterpreterDirectories) command.AddRange(["--ro-bind", dir, dir]);
        command.AddRange(["--dev", "/dev", "--proc", "/proc", "--size", size, "--tmpfs", "/tmp"]);
        if (programFile is null) command.AddRange(["--bind", workDir, workDir]); // the probe writes nothing
        else command.AddRange(["--size", size, "--tmpfs", workDir, "--ro-bind", programFile, Path.Combine(workDir, Path.GetFileName(programFile))]);
        // bwrap's own root is a writable tmpfs: nothing may be created beside the binds.
        command.AddRange(["--remount-ro", "/", "--chdir", workDir]);
        foreach (var (name, value) in Environment(workDir)) command.AddRange(["--setenv", name, value]);
        return command;
    }

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
        IsolationLevel.Bubblewrap => "bubblewrap: only /usr, the libraries and the interpreter visible (read-only), size-capped private /tmp and work directory, all namespaces unshared (no network), no capabilities, cleared environment",
        IsolationLevel.UnshareNet => "unshare: no network, own PID namespace and /proc; the filesystem is NOT isolated (only the Python guard protects files)",
        _ => "Python guard only (weakest): sockets, subprocesses and destructive os calls disabled in-process; no OS isolation",
    };
}
