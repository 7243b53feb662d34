using SharpLM.Sandbox;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using SharpLM.Evaluation.CodeExecution;
using SharpLM.Evaluation.Harness;
using SharpLM.Evaluation.Models;
using SharpLM.Tests.Cli;
using Xunit.Abstractions;

namespace SharpLM.Tests.Evaluation.CodeExecution;

/// <summary>A fact that needs bubblewrap on PATH; skipped with the reason where it is not installed.</summary>
internal sealed class BubblewrapFactAttribute : FactAttribute
{
    public BubblewrapFactAttribute()
    {
        bool installed = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "bwrap")));
        if (!installed) Skip = "bubblewrap (bwrap) is not installed: apt-get install bubblewrap";
    }
}

/// <summary>
/// What bubblewrap hides from generated code, what counts as a pass, and the limits on disk, memory and processes.
/// Each test names a hole the sandbox once had: it fails on that sandbox.
/// </summary>
public class HardeningTests(ITestOutputHelper output)
{
    static Task<CodeSandbox> Bubblewrap(SandboxOptions? options = null) =>
        CodeSandbox.CreateAsync((options ?? new SandboxOptions()) with { Isolation = IsolationLevel.Bubblewrap });

    /// <summary>Prints, for each path, "read" or "listed" when the program got at it, else the error's name.</summary>
    static string ProbeProgram(IEnumerable<string> files, IEnumerable<string> dirs) =>
        "import os\nfor path in " + PythonList(files) + """
            :
                try:
                    open(path).read()
                    print('read', path)
                except OSError as e:
                    print(type(e).__name__, path)
            for path in 
            """ + PythonList(dirs) + """
            :
                try:
                    print('listed', path, os.listdir(path))
                except OSError as e:
                    print(type(e).__name__, path)
            """;

    [BubblewrapFact]
    public async Task Secrets_under_home_work_and_etc_cannot_be_read_and_work_cannot_be_listed()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var created = new List<string>();
        string Secret(string dir)
        {
            string folder = Path.Combine(dir, $".sharplm-secret-{Guid.NewGuid():N}");
            Directory.CreateDirectory(folder);
            created.Add(folder);
            string file = Path.Combine(folder, "id_ed25519");
            File.WriteAllText(file, "secret");
            return file;
        }
        try
        {
            var secrets = new List<string> { Secret(home), Secret(Path.GetTempPath()) };
            if (Directory.Exists("/work")) secrets.Add(Secret("/work"));
            // An /etc/shadow stand-in: a file in a system directory the sandbox does not bind.
            foreach (string system in new[] { "/etc", "/var/tmp" })
                try { secrets.Add(Secret(system)); }
                catch (UnauthorizedAccessException) { } // not root: the real /etc/shadow below stands for it
            string[] files = [.. secrets, "/etc/shadow", "/etc/passwd", Path.Combine(home, ".ssh", "id_rsa")];
            string[] dirs = ["/work", "/root", "/home", "/run", "/var", home];
            string program = ProbeProgram(files, dirs);
            // Control: outside the sandbox the same program reads every secret it planted.
            string onHost = await RunOnHost(program);
            Assert.All(secrets, s => Assert.Contains($"read {s}", onHost));

            var r = await (await Bubblewrap()).RunAsync(program);
            output.WriteLine(r.Stdout);
            Assert.True(r.Passed, r.Stderr);
            Assert.DoesNotContain("read ", r.Stdout);
            Assert.DoesNotContain("listed ", r.Stdout);
            Assert.All(files.Concat(dirs), path => Assert.Contains($"FileNotFoundError {path}\n", r.Stdout));
        }
        finally
        {
            foreach (string folder in created) Directory.Delete(folder, recursive: true);
        }
    }

    [BubblewrapFact]
    public async Task A_unix_socket_listening_on_the_host_cannot_be_connected_to()
    {
        // Path-bound Unix sockets cross network namespaces: only not binding their directory keeps them out.
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var candidates = new[] { "/run", home }.Where(Directory.Exists);
        foreach (string parent in candidates)
        {
            string dir = Path.Combine(parent, $".sharplm-socket-{Guid.NewGuid():N}");
            try { Directory.CreateDirectory(dir); }
            catch (UnauthorizedAccessException) { continue; }
            string path = Path.Combine(dir, "agent.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                listener.Bind(new UnixDomainSocketEndPoint(path));
                listener.Listen(4);
                string program = $"""
                    import socket
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        s.connect('{path}')
                        print('connected')
                    except OSError as e:
                        print(type(e).__name__)
                    """;
                Assert.Equal("connected\n", await RunOnHost(program)); // control
                listener.Accept().Dispose();

                var r = await (await Bubblewrap()).RunAsync(program);
                output.WriteLine($"{path}: {r.Stdout.Trim()}");
                Assert.True(r.Passed, r.Stderr);
                Assert.Equal("FileNotFoundError\n", r.Stdout);
                listener.Blocking = false;
                Assert.Throws<SocketException>(() => listener.Accept()); // nothing came in
            }
            finally
            {
                listener.Dispose();
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [BubblewrapFact]
    public async Task Only_a_cleared_environment_and_the_system_directories_are_visible()
    {
        var r = await (await Bubblewrap()).RunAsync("""
            import os
            print(sorted(os.environ))
            print(sorted(os.listdir('/')))
            """);
        Assert.True(r.Passed, r.Stderr);
        output.WriteLine(r.Stdout);
        string[] lines = r.Stdout.Split('\n');
        Assert.Equal("['HOME', 'LANG', 'OMP_NUM_THREADS', 'PATH', 'PWD', 'PYTHONDONTWRITEBYTECODE', 'PYTHONIOENCODING', 'PYTHONNOUSERSITE', 'TMPDIR']", lines[0]);
        foreach (string hidden in new[] { "'work'", "'home'", "'run'", "'var'", "'srv'", "'mnt'" }) Assert.DoesNotContain(hidden, lines[1]);
    }

    [BubblewrapFact]
    public async Task An_interpreter_outside_usr_runs_with_only_its_prefix_bound()
    {
        // pyenv (and conda) interpreters live under /root or /home: their prefix is bound, nothing beside it.
        string real = (await RunOnHost("import os, sys; print(os.path.realpath(sys.executable))", python: "python3")).Trim();
        if (real.StartsWith("/usr/", StringComparison.Ordinal))
        {
            output.WriteLine($"python3 on PATH is {real}: nothing outside /usr to bind here");
            return;
        }
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string secretDir = Path.Combine(home, $".sharplm-secret-{Guid.NewGuid():N}");
        Directory.CreateDirectory(secretDir);
        try
        {
            File.WriteAllText(Path.Combine(secretDir, "key"), "secret");
            var sandbox = await Bubblewrap(new SandboxOptions { PythonExecutable = real });
            output.WriteLine(sandbox.Summary);
            var r = await sandbox.RunAsync("import os, sys\nprint(os.path.realpath(sys.executable))\n" + ProbeProgram([Path.Combine(secretDir, "key")], [secretDir]));
            output.WriteLine(r.Stdout);
            Assert.True(r.Passed, r.Stderr);
            Assert.StartsWith(real + "\n", r.Stdout);
            Assert.DoesNotContain("read ", r.Stdout);
            Assert.DoesNotContain("listed ", r.Stdout);
        }
        finally
        {
            Directory.Delete(secretDir, recursive: true);
        }
    }

    static readonly HumanEvalProblem Add = new()
    {
        TaskId = "T/add", Prompt = "def add(a, b):\n", CanonicalSolution = "    return a + b\n",
        Test = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n", EntryPoint = "add",
    };

    /// <summary>Completions that leave before check() runs, or start other programs, then answer correctly where they can.</summary>
    public static TheoryData<string> Escapes => new()
    {
        "    import os\n    os.execv('/bin/true', ['true'])\n",
        "    import os\n    os.execl('/bin/true', 'true')\n",
        "    import os\n    os.spawnv(os.P_WAIT, '/bin/true', ['true'])\n    return a + b\n",
        "    import subprocess\n    subprocess.run(['true'])\n    return a + b\n",
        "    import os\n    os.system('true')\n    return a + b\n",
        "    import os\n    os._exit(0)\n",
        // Past the guard: posix is what os wraps. Only the missing completion line catches these.
        "    import posix\n    posix.execv('/bin/true', ['true'])\n",
        "    import posix\n    posix._exit(0)\n",
        "    import posix, sys\n    sys.stdout.write('\\nsharplm-sandbox-completed:' + 32 * '0' + '\\n')\n    sys.stdout.flush()\n    posix._exit(0)\n",
        "    import pty\n    pty.spawn(['true'])\n    return a + b\n",
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task A_completion_that_execs_spawns_or_exits_before_the_tests_scores_zero(string completion)
    {
        var sandbox = await CodeSandbox.CreateAsync(new SandboxOptions { AllowWeakIsolation = true });
        var right = await sandbox.RunAsync(Add.Program(Add.CanonicalSolution));
        Assert.True(right.Passed, right.Stderr); // control
        var r = await sandbox.RunAsync(Add.Program(completion));
        output.WriteLine($"{sandbox.Isolation.Level}: exit {r.ExitCode}, completed {r.Completed}: {r.Stderr.Trim().Split('\n')[^1]}");
        Assert.False(r.Passed);
        Assert.False(r.Completed);
    }

    [Fact]
    public async Task The_completion_line_is_not_part_of_the_output_and_survives_a_flood()
    {
        var sandbox = await CodeSandbox.CreateAsync(new SandboxOptions { AllowWeakIsolation = true, MaxOutputBytes = 100 });
        var quiet = await sandbox.RunAsync("pass");
        Assert.True(quiet.Passed && quiet.Completed, quiet.Stderr);
        Assert.Equal("", quiet.Stdout);
        var noNewline = await sandbox.RunAsync("import sys\nsys.stdout.write('abc')");
        Assert.Equal(("abc", false), (noNewline.Stdout, noNewline.OutputTruncated));
        // Exactly at the cap: the kept part is all of the program's output, so nothing was truncated.
        var atCap = await sandbox.RunAsync("print('x' * 99)");
        Assert.Equal((new string('x', 99) + "\n", false, true), (atCap.Stdout, atCap.OutputTruncated, atCap.Passed));
        var flood = await sandbox.RunAsync("print('y' * 100000)");
        Assert.Equal((new string('y', 100), true, true), (flood.Stdout, flood.OutputTruncated, flood.Passed));
    }

    [Fact]
    public async Task Without_bubblewrap_code_is_refused_unless_weaker_isolation_is_allowed()
    {
        var missing = new SandboxOptions { BubblewrapExecutable = "/nonexistent/bwrap" };
        var e = await Assert.ThrowsAsync<SandboxUnavailableException>(() => CodeSandbox.CreateAsync(missing));
        output.WriteLine(e.Message);
        Assert.StartsWith("skipped: isolation Bubblewrap unavailable: could not be started (/nonexistent/bwrap", e.Message);
        Assert.Contains("--allow-weak-sandbox", e.Message);

        var weak = await CodeSandbox.CreateAsync(missing with { AllowWeakIsolation = true });
        output.WriteLine(weak.Summary);
        Assert.True(weak.Isolation.Level < IsolationLevel.Bubblewrap);
        Assert.Contains("Bubblewrap unavailable: could not be started", weak.Summary);
        var r = await weak.RunAsync("print(1)");
        Assert.True(r.Passed, r.Stderr);
        Assert.Equal(weak.Isolation.Level, r.Isolation);

        var runner = await SandboxedCodeRunner.CreateAsync(missing);
        Assert.StartsWith("code tasks need a sandbox: skipped: isolation Bubblewrap unavailable", runner.Unavailable);
        Assert.Null(runner.IsolationLevel);
    }

    [DataFact("humaneval")]
    public async Task Code_tasks_are_skipped_without_bubblewrap_and_results_json_names_the_level_they_ran_under()
    {
        var task = TaskConfig.Resolve("humaneval");
        var docs = TaskDataset.Load(task).Documents.Take(3).ToList();
        var canonical = docs.ToDictionary(d => d.GetProperty("prompt").GetString()!, d => d.GetProperty("canonical_solution").GetString()!);
        var model = new CannedModel(canonical);
        var missing = new SandboxOptions { BubblewrapExecutable = "/nonexistent/bwrap" };
        using var dir = new TempDirectory();

        async Task<JsonElement> Result(SandboxedCodeRunner runner)
        {
            await EvaluationRun.RunAsync(model, [task], new EvaluationOptions { Limit = 3, CodeRunner = runner }, dir.Path);
            return JsonDocument.Parse(File.ReadAllText(dir.File("results.json"))).RootElement.GetProperty("results")[0].Clone();
        }

        var skipped = await Result(await SandboxedCodeRunner.CreateAsync(missing));
        output.WriteLine(skipped.GetProperty("skipped").GetString());
        Assert.Contains("isolation Bubblewrap unavailable", skipped.GetProperty("skipped").GetString());
        Assert.False(skipped.GetProperty("metrics").EnumerateObject().Any());

        var weakRunner = await SandboxedCodeRunner.CreateAsync(missing with { AllowWeakIsolation = true });
        var weak = await Result(weakRunner);
        Assert.Equal(JsonValueKind.Null, weak.GetProperty("skipped").ValueKind);
        Assert.Equal(1.0, weak.GetProperty("metrics").GetProperty("pass@1").GetDouble());
        Assert.Equal(weakRunner.IsolationLevel, weak.GetProperty("sandbox").GetString());
        Assert.NotEqual("Bubblewrap", weakRunner.IsolationLevel);

        if (File.Exists("/usr/bin/bwrap") || File.Exists("/bin/bwrap"))
            Assert.Equal("Bubblewrap", (await Result(await SandboxedCodeRunner.CreateAsync())).GetProperty("sandbox").GetString());
    }

    [Fact]
    public void The_command_line_offers_the_weak_sandbox_only_as_an_option()
    {
        var help = CliProcess.Run("eval", "run", "--help");
        Assert.Contains("--allow-weak-sandbox", help.Stdout);
    }

    sealed class CannedModel(Dictionary<string, string> answers) : IEvaluationModel
    {
        public string Name => "canned";
        public Task<IReadOnlyList<LoglikelihoodResult>> LoglikelihoodAsync(IReadOnlyList<LoglikelihoodRequest> r, CancellationToken c = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<RollingLoglikelihoodResult>> LoglikelihoodRollingAsync(IReadOnlyList<string> t, CancellationToken c = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<string>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken c = default) =>
            Task.FromResult<IReadOnlyList<string>>(requests.Select(r => answers.GetValueOrDefault(r.Context, "")).ToArray());
    }

    // ---- limits ----

    [BubblewrapFact]
    public async Task Filling_the_work_directory_or_tmp_stops_at_the_disk_limit_and_leaves_nothing_on_the_host()
    {
        var sandbox = await Bubblewrap(new SandboxOptions { MaxDiskBytes = 8L << 20, MaxFileBytes = 1L << 20, Timeout = TimeSpan.FromSeconds(20) });
        foreach (string where in new[] { ".", "/tmp" })
        {
            // Many files under the per-file limit: only the size of the tmpfs stops this.
            string program = $$"""
                import errno, os
                print(os.path.dirname(__file__), flush=True)
                written = 0
                try:
                    for i in range(10000):
                        with open(os.path.join('{{where}}', 'fill%d' % i), 'wb') as f:
                            f.write(b'x' * (512 * 1024))
                        written += 512 * 1024
                    print('not stopped', written)
                except OSError as e:
                    print(errno.errorcode[e.errno], written)
                """;
            var r = await sandbox.RunAsync(program);
            output.WriteLine($"{where}: {r.Stdout.Replace('\n', ' ')} in {r.Duration.TotalSeconds:0.00} s");
            Assert.True(r.Passed, r.Stderr);
            string[] lines = r.Stdout.Split('\n');
            string[] outcome = lines[1].Split(' ');
            Assert.Equal("ENOSPC", outcome[0]);
            Assert.InRange(long.Parse(outcome[1]), 4L << 20, 8L << 20);
            Assert.False(Directory.Exists(lines[0]), "the work directory outlived the run");
        }
        Assert.True(new DriveInfo(Path.GetTempPath()).AvailableFreeSpace > 0);
    }

    [Fact]
    public async Task A_file_larger_than_the_file_limit_is_cut_off_at_every_level()
    {
        foreach (var level in await CodeSandbox.AvailableIsolationAsync())
        {
            var sandbox = await CodeSandbox.CreateAsync(new SandboxOptions { Isolation = level.Level, MaxFileBytes = 1L << 20 });
            var r = await sandbox.RunAsync("""
                import errno
                try:
                    with open('big', 'wb') as f:
                        f.write(b'x' * (4 << 20))
                    print('written')
                except OSError as e:
                    print(errno.errorcode[e.errno])
                """);
            output.WriteLine($"{level.Level}: {r.Stdout.Trim()}");
            Assert.Equal("EFBIG\n", r.Stdout);
        }
    }

    [Fact]
    public async Task Work_directories_are_private_unpredictable_and_removed()
    {
        // The weakest level runs in the host's directory itself, so the program sees its mode.
        var sandbox = await CodeSandbox.CreateAsync(new SandboxOptions { Isolation = IsolationLevel.PreambleOnly });
        const string program = "import os, stat\nhere = os.path.dirname(__file__)\nprint(here)\nprint(oct(stat.S_IMODE(os.stat(here).st_mode)))\n";
        var first = await sandbox.RunAsync(program);
        var second = await sandbox.RunAsync(program);
        Assert.True(first.Passed && second.Passed, first.Stderr + second.Stderr);
        string[] a = first.Stdout.Split('\n'), b = second.Stdout.Split('\n');
        Assert.Equal("0o700", a[1]);
        // Straight in the temp folder under a random name: no shared parent another user could create first.
        Assert.Equal(Path.TrimEndingDirectorySeparator(Path.GetTempPath()), Path.GetDirectoryName(a[0]));
        Assert.Matches(@"^sharplm-sandbox-\w{6,}$", Path.GetFileName(a[0]));
        Assert.NotEqual(a[0], b[0]);
        Assert.False(Directory.Exists(a[0]));
        Assert.False(Directory.Exists(b[0]));
    }

    [Fact]
    public async Task A_fork_bomb_is_refused_at_the_process_limit_even_for_root_and_its_cgroup_is_removed()
    {
        // posix.fork, not os.fork: this stands for code that got past the guard.
        const string program = """
            import posix, time
            print(open('/proc/self/cgroup').read().replace('\n', ' '), flush=True)
            children = 0
            try:
                for _ in range(200):
                    if posix.fork() == 0:
                        time.sleep(30)
                        posix._exit(0)
                    children += 1
                print('forked', children)
            except OSError as e:
                print('refused after', children, type(e).__name__)
            """;
        foreach (var level in await CodeSandbox.AvailableIsolationAsync())
        {
            if (!level.ProcessLimitEnforced)
            {
                output.WriteLine($"{level.Level}: no process limit can be enforced here (not root on cgroup v1 nor a delegated v2 pids controller)");
                continue;
            }
            var sandbox = await CodeSandbox.CreateAsync(new SandboxOptions { Isolation = level.Level, MaxProcesses = 10, Timeout = TimeSpan.FromSeconds(10) });
            var clock = Stopwatch.StartNew();
            var r = await sandbox.RunAsync(program);
            output.WriteLine($"{level.Level}: {r.Stdout.Trim()} ({r.Duration.TotalSeconds:0.00} s)");
            string[] lines = r.Stdout.Split('\n');
            Assert.Matches(@"^refused after \d+ BlockingIOError$", lines[1]);
            Assert.InRange(int.Parse(lines[1].Split(' ')[2]), 1, 10);
            Assert.True(r.Passed, r.Stderr); // it ends on its own, well before the timeout
            Assert.InRange(clock.Elapsed.TotalSeconds, 0, 8);
            // On the weakest level the program sees the host's cgroup path: gone after the run.
            foreach (string entry in lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (entry.Split(':', 3) is [_, var controllers, var path] && controllers.Split(',').Contains("pids") && path.Contains("sharplm-sandbox-"))
                    Assert.False(Directory.Exists("/sys/fs/cgroup/pids" + path), $"{path} outlived the run");
        }
        Assert.Equal("ok\n", await RunOnHost("print('ok')")); // the host still starts processes
    }

    [Fact]
    public async Task A_memory_bomb_ends_with_MemoryError_and_the_host_is_unaffected()
    {
        var sandbox = await CodeSandbox.CreateAsync(new SandboxOptions { AllowWeakIsolation = true, MemoryLimitBytes = 256L << 20 });
        var r = await sandbox.RunAsync("chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 1024 * 1024))\n");
        output.WriteLine($"{sandbox.Isolation.Level}: {r.Stderr.Trim().Split('\n')[^1]} after {r.Duration.TotalSeconds:0.00} s");
        Assert.False(r.Passed);
        Assert.False(r.TimedOut);
        Assert.Contains("MemoryError", r.Stderr);
        var after = await sandbox.RunAsync("print(sum(range(10)))");
        Assert.Equal(("45\n", true), (after.Stdout, after.Passed));
    }

    static string PythonList(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(i => "'" + i.Replace("\\", "\\\\").Replace("'", "\\'") + "'")) + "]";

    /// <summary>Our own test program, deliberately outside the sandbox, as the control for a containment test.</summary>
    static async Task<string> RunOnHost(string program, string python = "python3")
    {
        using var process = Process.Start(new ProcessStartInfo(python, ["-c", program]) { RedirectStandardOutput = true })!;
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return stdout;
    }
}
