using System.Collections.Concurrent;
using System.ComponentModel;
using System.Globalization;
using System.Security.Cryptography;

namespace SharpLM.Sandbox;

/// <summary>
/// Runs generated Python programs, each in its own interpreter process under bubblewrap (or, only when asked, the
/// strongest weaker isolation that works here), in a fresh private temporary directory that is deleted afterwards. Generated code never runs in this
/// process. Create one with <see cref="CreateAsync"/>; it is safe to use from many threads.
/// </summary>
public sealed class CodeSandbox
{
    const string ProgramFile = "program.py";
    const double Mebibyte = 1 << 20;

    // Probing starts several processes: once per interpreter and bubblewrap per process is enough.
    static readonly ConcurrentDictionary<(string Python, string Bubblewrap), Lazy<Task<HostSupport>>> Detected = new();

    readonly string python;
    readonly string strongerUnavailable;

    CodeSandbox(SandboxOptions options, SandboxIsolation isolation, HostSupport host)
    {
        Options = options;
        Isolation = isolation;
        python = host.Python;
        PythonVersion = host.Version;
        strongerUnavailable = string.Concat(Enum.GetValues<IsolationLevel>().Where(l => l > isolation.Level && host.Levels.All(h => h.Level != l))
            .Select(l => $"; {l} unavailable: {host.Why(l)}"));
    }

    /// <summary>The limits and interpreter every program runs with.</summary>
    public SandboxOptions Options { get; }
    /// <summary>The isolation level in use and what it does.</summary>
    public SandboxIsolation Isolation { get; }
    /// <summary>The interpreter's version, e.g. "3.11.7".</summary>
    public string PythonVersion { get; }

    /// <summary>One line for reports: what protects the host, why nothing stronger does, and which limits apply.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"Python {PythonVersion} ({python}); {Isolation.Description}{strongerUnavailable}; limits: {Options.Timeout.TotalSeconds:0.###} s, " +
        $"{Options.MemoryLimitBytes / Mebibyte:0.##} MiB address space, files up to {Options.MaxFileBytes / Mebibyte:0.##} MiB, " +
        $"{Options.MaxProcesses} more processes ({(PidsCgroup.Available ? "enforced by a pids cgroup" : Isolation.ProcessLimitEnforced ? "enforced by RLIMIT_NPROC" : Environment.IsPrivilegedProcess ? "not enforced: the kernel exempts root from RLIMIT_NPROC and no pids cgroup can be made" : "not enforced here")})");

    /// <summary>
    /// Detects the interpreter and the isolation (once per interpreter and bubblewrap) and picks the level to use:
    /// <see cref="SandboxOptions.Isolation"/> when set, else bubblewrap, else (only with
    /// <see cref="SandboxOptions.AllowWeakIsolation"/>) the strongest level that works.
    /// </summary>
    /// <exception cref="PythonNotFoundException">The interpreter is missing or does not run: report as skipped.</exception>
    /// <exception cref="SandboxUnavailableException">Bubblewrap does not work here and weaker isolation was not allowed: report as skipped.</exception>
    /// <exception cref="NotSupportedException">The level asked for in <see cref="SandboxOptions.Isolation"/> does not work here.</exception>
    public static async Task<CodeSandbox> CreateAsync(SandboxOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new SandboxOptions();
        options.Validate();
        var host = await DetectAsync(options.PythonToRun, options.BubblewrapExecutable).WaitAsync(cancellation);
        var strongest = host.Levels.MaxBy(l => l.Level)!;
        var isolation = options.Isolation is IsolationLevel wanted
            ? host.Levels.FirstOrDefault(l => l.Level == wanted)
              ?? throw new NotSupportedException($"isolation {wanted} does not work here: {host.Why(wanted)}")
            : strongest.Level == IsolationLevel.Bubblewrap || options.AllowWeakIsolation ? strongest
            : throw new SandboxUnavailableException($"skipped: isolation {IsolationLevel.Bubblewrap} unavailable: {host.Why(IsolationLevel.Bubblewrap)}; " +
                $"code does not run under the weaker {strongest.Level} unless allowed (SandboxOptions.AllowWeakIsolation, sharplm eval run --allow-weak-sandbox)");
        return new CodeSandbox(options, isolation, host);
    }

    /// <summary>The isolation levels that work here with this interpreter, weakest first (at least <see cref="IsolationLevel.PreambleOnly"/>).</summary>
    /// <exception cref="PythonNotFoundException">The interpreter is missing or does not run.</exception>
    public static async Task<IReadOnlyList<SandboxIsolation>> AvailableIsolationAsync(string pythonExecutable = SandboxOptions.DefaultPython, CancellationToken cancellation = default) =>
        (await DetectAsync(new SandboxOptions { PythonExecutable = pythonExecutable }.PythonToRun, "bwrap").WaitAsync(cancellation)).Levels;

    /// <summary>Runs one program to completion, a crash, or the timeout.</summary>
    public async Task<ExecutionResult> RunAsync(string program, CancellationToken cancellation = default)
    {
        string workDir = CreateWorkDir();
        try
        {
            string programPath = Path.Combine(workDir, ProgramFile);
            await File.WriteAllTextAsync(programPath, program, cancellation);
            string[] interpreter =
            [
                python, "-B", "-c", PythonScripts.Runner, ProgramFile,
                Invariant(Options.MemoryLimitBytes), Invariant(Options.MaxFileBytes), Invariant(Options.MaxProcesses),
                // Network namespaces already leave nothing to connect to; without one, the guard refuses sockets.
                Isolation.Level == IsolationLevel.PreambleOnly ? "1" : "0",
            ];
            // A fresh secret per run, on stdin (not argv, which /proc/self/cmdline shows): the program cannot print
            // the completion line itself before exiting early.
            string nonce = RandomNumberGenerator.GetHexString(32, lowercase: true);
            // The processes and threads the program may add, on top of the interpreter and the isolation's own.
            using var cgroup = PidsCgroup.TryCreate(Options.MaxProcesses + Isolation.OwnTasks);
            var command = Isolation.Command(workDir, programPath, Options.MaxDiskBytes, interpreter);
            var outcome = await SandboxProcess.RunAsync(cgroup?.Wrap(command) ?? command, workDir,
                SandboxIsolation.Environment(workDir), Options.Timeout, Options.MaxOutputBytes, cancellation,
                input: nonce + "\n", trailer: "\n" + PythonScripts.CompletionMarker + nonce + "\n",
                killGroup: Isolation.Level == IsolationLevel.PreambleOnly && cgroup is null, cgroup: cgroup);
            return new ExecutionResult(outcome.ExitCode, outcome.TimedOut, outcome.Stdout, outcome.Stderr, outcome.OutputTruncated,
                outcome.Duration, Isolation.Level) { Completed = outcome.TrailerSeen };
        }
        finally
        {
            DeleteWorkDir(workDir);
        }
    }

    /// <summary>Runs programs concurrently (at most <paramref name="maxParallelism"/> at once; 0: one per processor); results in input order.</summary>
    public async Task<IReadOnlyList<ExecutionResult>> RunAllAsync(IReadOnlyList<string> programs, int maxParallelism = 0, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxParallelism);
        var results = new ExecutionResult[programs.Count];
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = maxParallelism == 0 ? Environment.ProcessorCount : maxParallelism,
            CancellationToken = cancellation,
        };
        await Parallel.ForEachAsync(Enumerable.Range(0, programs.Count), parallel,
            async (i, token) => results[i] = await RunAsync(programs[i], token));
        return results;
    }

    static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    // mkdtemp: a random name and mode 0700, so no other user can predict it, plant files in it or read the program.
    static string CreateWorkDir() => Directory.CreateTempSubdirectory("sharplm-sandbox-").FullName;

    static void DeleteWorkDir(string workDir)
    {
        // Best effort: code that got past the guard can leave files it made unreadable; they stay in the temp folder.
        try { Directory.Delete(workDir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static Task<HostSupport> DetectAsync(string pythonExecutable, string bubblewrap) =>
        Detected.GetOrAdd((pythonExecutable, bubblewrap), k => new Lazy<Task<HostSupport>>(() => HostSupport.DetectAsync(k.Python, k.Bubblewrap))).Value;

    /// <summary>The interpreter and which isolation levels were seen to work with it, and why the others did not.</summary>
    sealed record HostSupport(string Python, string Version, IReadOnlyList<SandboxIsolation> Levels, IReadOnlyDictionary<IsolationLevel, string> Failures)
    {
        static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

        public string Why(IsolationLevel level) => Failures.GetValueOrDefault(level, "not tried");

        public static async Task<HostSupport> DetectAsync(string pythonExecutable, string bubblewrap)
        {
            var identity = await Probe(_ => [pythonExecutable, "-c", PythonScripts.Identify]);
            if (identity.Error is not null || identity.Outcome!.ExitCode != 0)
                throw new PythonNotFoundException($"skipped: python3 not found: '{pythonExecutable}' " +
                    (identity.Error ?? $"exited with {identity.Outcome!.ExitCode}: {LastLine(identity.Outcome.Stderr)}"));
            var lines = identity.Outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (lines.Length < 3) throw new PythonNotFoundException($"skipped: python3 not found: '{pythonExecutable}' did not report its path and version");
            string python = lines[0], version = lines[1];
            // What bubblewrap must bind besides /usr: a pyenv or conda interpreter's prefix, with its own directory.
            var elsewhere = lines.Skip(2).Where(d => d != "/usr" && !d.StartsWith("/usr/", StringComparison.Ordinal) && d != "/").Distinct()
                .OrderBy(d => d, StringComparer.Ordinal).ToList();
            var interpreterDirs = elsewhere.Where(d => !elsewhere.Any(o => o != d && d.StartsWith(o + "/", StringComparison.Ordinal))).ToList();

            var levels = new List<SandboxIsolation>();
            var failures = new Dictionary<IsolationLevel, string>();
            foreach (var untested in Candidates())
            {
                var candidate = untested with { BubblewrapExecutable = bubblewrap, InterpreterDirectories = interpreterDirs };
                if (levels.Any(l => l.Level == candidate.Level)) continue; // unshare already works without a user namespace
                string? failure = null;
                var probe = await Probe(workDir => candidate.Command(workDir, null, 1 << 20,
                    [python, "-c", PythonScripts.Probe, .. SandboxIsolation.HiddenDirectories, "--", .. interpreterDirs]));
                if (probe.Error is not null) failure = probe.Error;
                else if (probe.Outcome!.ExitCode != 0) failure = $"exited with {probe.Outcome.ExitCode}: {LastLine(probe.Outcome.Stderr)}";
                else
                {
                    var facts = probe.Outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                        .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim());
                    failure = Unmet(candidate.Level, facts);
                    if (failure is null)
                        levels.Add(candidate with { ProcessLimitEnforced = PidsCgroup.Available || facts.GetValueOrDefault("nproc_enforced") == "True" });
                }
                if (failure is not null) failures.TryAdd(candidate.Level, failure);
            }
            if (levels.Count == 0)
                throw new PythonNotFoundException($"skipped: python3 at '{python}' runs, but not under the sandbox's own limits: {failures[IsolationLevel.PreambleOnly]}");
            levels.Sort((a, b) => a.Level.CompareTo(b.Level));
            return new HostSupport(python, version, levels, failures);
        }

        /// <summary>Strongest first; unshare twice, as root and else in a user namespace.</summary>
        static IEnumerable<SandboxIsolation> Candidates() =>
        [
            SandboxIsolation.Untested(IsolationLevel.Bubblewrap),
            SandboxIsolation.Untested(IsolationLevel.UnshareNet),
            SandboxIsolation.Untested(IsolationLevel.UnshareNet, userNamespace: true),
            SandboxIsolation.Untested(IsolationLevel.PreambleOnly),
        ];

        /// <summary>Why a level that ran does not give what it promises, or null when it does.</summary>
        static string? Unmet(IsolationLevel level, IReadOnlyDictionary<string, string> facts)
        {
            if (!facts.ContainsKey("nproc_enforced")) return "the probe did not finish";
            if (level >= IsolationLevel.UnshareNet && facts.GetValueOrDefault("interfaces") != "lo")
                return $"the network is still visible (interfaces {facts.GetValueOrDefault("interfaces")})";
            if (level == IsolationLevel.Bubblewrap && facts.GetValueOrDefault("root_readonly") != "True") return "/ is writable";
            if (level == IsolationLevel.Bubblewrap && facts.GetValueOrDefault("exposed") is not (null or ""))
                return $"host directories are visible inside ({facts["exposed"]})";
            if (level == IsolationLevel.Bubblewrap && facts.GetValueOrDefault("capabilities", "").Any(digit => digit != '0'))
                return $"capabilities were kept ({facts["capabilities"]})";
            return null;
        }

        /// <summary>Runs a probe command in a throw-away work directory; a command that cannot start is an error, not an exception.</summary>
        static async Task<(ProcessOutcome? Outcome, string? Error)> Probe(Func<string, IReadOnlyList<string>> commandIn)
        {
            string workDir = CreateWorkDir();
            var command = commandIn(workDir);
            try
            {
                var outcome = await SandboxProcess.RunAsync(command, workDir, SandboxIsolation.Environment(workDir), ProbeTimeout, 64 * 1024, CancellationToken.None);
                return outcome.TimedOut ? (null, $"did not finish within {ProbeTimeout.TotalSeconds:0} s") : (outcome, null);
            }
            catch (Win32Exception e)
            {
                // Process.Start's own message is long and names the throw-away directory: keep the system's reason.
                return (null, $"could not be started ({command[0]}: {new Win32Exception(e.NativeErrorCode).Message})");
            }
            finally
            {
                DeleteWorkDir(workDir);
            }
        }

        /// <summary>The last line of an error output: a traceback's exception.</summary>
        static string LastLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no output)";
    }
}
