using System.Collections.Concurrent;
using System.ComponentModel;
using System.Globalization;

namespace SharpLM.Evaluation.CodeExecution;

/// <summary>
/// Runs generated Python programs, each in its own interpreter process under the strongest isolation that works
/// on this machine, in a fresh temporary directory that is deleted afterwards. Generated code never runs in this
/// process. Create one with <see cref="CreateAsync"/>; it is safe to use from many threads.
/// </summary>
public sealed class CodeSandbox
{
    const string ProgramFile = "program.py";
    const double Mebibyte = 1 << 20;

    // Probing starts several processes: once per interpreter per process is enough.
    static readonly ConcurrentDictionary<string, Lazy<Task<HostSupport>>> Detected = new();

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
        $"{Options.MaxProcesses} more processes ({(Isolation.ProcessLimitEnforced ? "enforced" : Environment.IsPrivilegedProcess ? "not enforced: the kernel exempts root" : "not enforced here")})");

    /// <summary>Detects the interpreter and the isolation (once per interpreter) and picks the level to use.</summary>
    /// <exception cref="PythonNotFoundException">The interpreter is missing or does not run: report as skipped.</exception>
    /// <exception cref="NotSupportedException">The level asked for in <see cref="SandboxOptions.Isolation"/> does not work here.</exception>
    public static async Task<CodeSandbox> CreateAsync(SandboxOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new SandboxOptions();
        options.Validate();
        var host = await DetectAsync(options.PythonExecutable).WaitAsync(cancellation);
        var isolation = options.Isolation is IsolationLevel wanted
            ? host.Levels.FirstOrDefault(l => l.Level == wanted)
              ?? throw new NotSupportedException($"isolation {wanted} does not work here: {host.Why(wanted)}")
            : host.Levels.MaxBy(l => l.Level)!;
        return new CodeSandbox(options, isolation, host);
    }

    /// <summary>The isolation levels that work here with this interpreter, weakest first (at least <see cref="IsolationLevel.PreambleOnly"/>).</summary>
    /// <exception cref="PythonNotFoundException">The interpreter is missing or does not run.</exception>
    public static async Task<IReadOnlyList<SandboxIsolation>> AvailableIsolationAsync(string pythonExecutable = "python3", CancellationToken cancellation = default) =>
        (await DetectAsync(pythonExecutable).WaitAsync(cancellation)).Levels;

    /// <summary>Runs one program to completion, a crash, or the timeout.</summary>
    public async Task<ExecutionResult> RunAsync(string program, CancellationToken cancellation = default)
    {
        string workDir = CreateWorkDir();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(workDir, ProgramFile), program, cancellation);
            string[] interpreter =
            [
                python, "-B", "-c", PythonScripts.Runner, ProgramFile,
                Invariant(Options.MemoryLimitBytes), Invariant(Options.MaxFileBytes), Invariant(Options.MaxProcesses),
                // Network namespaces already leave nothing to connect to; without one, the guard refuses sockets.
                Isolation.Level == IsolationLevel.PreambleOnly ? "1" : "0",
            ];
            var outcome = await SandboxProcess.RunAsync(Isolation.Command(workDir, interpreter), workDir, ChildEnvironment(workDir),
                Options.Timeout, Options.MaxOutputBytes, cancellation);
            return new ExecutionResult(outcome.ExitCode, outcome.TimedOut, outcome.Stdout, outcome.Stderr, outcome.OutputTruncated,
                outcome.Duration, Isolation.Level);
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

    static string CreateWorkDir() =>
        Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "sharplm-sandbox", Guid.NewGuid().ToString("N"))).FullName;

    static void DeleteWorkDir(string workDir)
    {
        // Best effort: code that got past the guard can leave files it made unreadable; they stay in the temp folder.
        try { Directory.Delete(workDir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static Dictionary<string, string> ChildEnvironment(string workDir) => new()
    {
        ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
        // Home and temp files inside the work directory, so they are deleted with it.
        ["HOME"] = workDir,
        ["TMPDIR"] = workDir,
        ["LANG"] = "C.UTF-8",
        ["PYTHONIOENCODING"] = "utf-8",
        ["OMP_NUM_THREADS"] = "1", // as human-eval sets it
    };

    static Task<HostSupport> DetectAsync(string pythonExecutable) =>
        Detected.GetOrAdd(pythonExecutable, p => new Lazy<Task<HostSupport>>(() => HostSupport.DetectAsync(p))).Value;

    /// <summary>The interpreter and which isolation levels were seen to work with it, and why the others did not.</summary>
    sealed record HostSupport(string Python, string Version, IReadOnlyList<SandboxIsolation> Levels, IReadOnlyDictionary<IsolationLevel, string> Failures)
    {
        static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

        public string Why(IsolationLevel level) => Failures.GetValueOrDefault(level, "not tried");

        public static async Task<HostSupport> DetectAsync(string pythonExecutable)
        {
            var identity = await Probe(_ => [pythonExecutable, "-c", PythonScripts.Identify]);
            if (identity.Error is not null || identity.Outcome!.ExitCode != 0)
                throw new PythonNotFoundException($"skipped: python3 not found: '{pythonExecutable}' " +
                    (identity.Error ?? $"exited with {identity.Outcome!.ExitCode}: {LastLine(identity.Outcome.Stderr)}"));
            var lines = identity.Outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (lines.Length != 2) throw new PythonNotFoundException($"skipped: python3 not found: '{pythonExecutable}' did not report its path and version");
            string python = lines[0], version = lines[1];

            var levels = new List<SandboxIsolation>();
            var failures = new Dictionary<IsolationLevel, string>();
            foreach (var candidate in Candidates())
            {
                if (levels.Any(l => l.Level == candidate.Level)) continue; // unshare already works without a user namespace
                string? failure = null;
                var probe = await Probe(workDir => candidate.Command(workDir, [python, "-c", PythonScripts.Probe]));
                if (probe.Error is not null) failure = probe.Error;
                else if (probe.Outcome!.ExitCode != 0) failure = $"exited with {probe.Outcome.ExitCode}: {LastLine(probe.Outcome.Stderr)}";
                else
                {
                    var facts = probe.Outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                        .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim());
                    failure = Unmet(candidate.Level, facts);
                    if (failure is null)
                        levels.Add(candidate with { ProcessLimitEnforced = facts.GetValueOrDefault("nproc_enforced") == "True" });
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
                var outcome = await SandboxProcess.RunAsync(command, workDir, ChildEnvironment(workDir), ProbeTimeout, 64 * 1024, CancellationToken.None);
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
