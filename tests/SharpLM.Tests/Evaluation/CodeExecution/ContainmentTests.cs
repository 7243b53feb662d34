using SharpLM.Sandbox;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SharpLM.Evaluation.CodeExecution;
using Xunit.Abstractions;

namespace SharpLM.Tests.Evaluation.CodeExecution;

/// <summary>
/// Hostile programs, run at every isolation level that works on this machine. Where a level does not promise a
/// protection (files under unshare or the guard alone) the test asserts the weakness as reported, so a wrong
/// report fails just like a broken protection.
/// </summary>
public class ContainmentTests(ITestOutputHelper output)
{
    async Task<IEnumerable<(SandboxIsolation Level, CodeSandbox Sandbox)>> AtEveryLevel(SandboxOptions? options = null)
    {
        var sandboxes = new List<(SandboxIsolation, CodeSandbox)>();
        foreach (var level in await CodeSandbox.AvailableIsolationAsync())
        {
            output.WriteLine($"{level.Level}: {level.Description}; process limit enforced: {level.ProcessLimitEnforced}");
            sandboxes.Add((level, await CodeSandbox.CreateAsync((options ?? new SandboxOptions()) with { Isolation = level.Level })));
        }
        return sandboxes;
    }

    [Fact]
    public async Task An_infinite_loop_is_killed_at_the_timeout()
    {
        foreach (var (level, sandbox) in await AtEveryLevel(new SandboxOptions { Timeout = TimeSpan.FromSeconds(1) }))
        {
            var clock = Stopwatch.StartNew();
            var r = await sandbox.RunAsync("print('started', flush=True)\nwhile True:\n    pass\n");
            output.WriteLine($"{level.Level}: returned after {clock.Elapsed.TotalSeconds:0.00} s");
            Assert.True(r.TimedOut);
            Assert.False(r.Passed);
            Assert.Equal("started\n", r.Stdout);
            Assert.InRange(clock.Elapsed.TotalSeconds, 1.0, 4.0);
        }
    }

    [Fact]
    public async Task Files_written_outside_the_work_directory_do_not_reach_the_host()
    {
        foreach (var (level, sandbox) in await AtEveryLevel())
        {
            string name = $"sharplm-escape-{Guid.NewGuid():N}";
            string tmp = Path.Combine("/tmp", name);
            string[] targets = [tmp, Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), name), Path.Combine(AppContext.BaseDirectory, name)];
            string program = "for path in " + PythonList(targets) + """
                :
                    try:
                        with open(path, 'w') as f:
                            f.write('escaped')
                        print('wrote', path)
                    except OSError as e:
                        print('refused', path, e.strerror)
                """;
            try
            {
                var r = await sandbox.RunAsync(program);
                output.WriteLine($"{level.Level}:\n{r.Stdout}");
                Assert.True(r.Passed, r.Stderr);
                Assert.Equal(3, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
                if (level.Level >= IsolationLevel.Bubblewrap)
                    Assert.All(targets, t => Assert.False(File.Exists(t), $"{t} escaped the sandbox"));
                else
                {
                    // No filesystem isolation at this level, as its description says: the world-writable /tmp is reached,
                    // and whatever the program says it wrote is on the host.
                    Assert.True(File.Exists(tmp));
                    Assert.All(targets, t => Assert.Equal(r.Stdout.Contains($"wrote {t}"), File.Exists(t)));
                }
            }
            finally
            {
                foreach (string t in targets) File.Delete(t);
            }
        }
    }

    [Fact]
    public async Task A_socket_cannot_reach_a_listener_on_the_host()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            string program = $"""
                import socket
                try:
                    socket.create_connection(('127.0.0.1', {port}), timeout=3)
                    print('connected')
                except OSError as e:
                    print(type(e).__name__, e.errno, e)
                """;
            // Control: outside any sandbox the same program does connect, so "refused" below means something.
            Assert.StartsWith("connected", await RunOnHost(program));
            Assert.True(listener.Pending());
            listener.AcceptSocket().Dispose();

            foreach (var (level, sandbox) in await AtEveryLevel())
            {
                var r = await sandbox.RunAsync(program);
                output.WriteLine($"{level.Level}: {r.Stdout.Trim()}");
                Assert.True(r.Passed, r.Stderr);
                if (level.Level >= IsolationLevel.UnshareNet)
                    // A fresh network namespace: loopback is down (unshare, ENETUNREACH) or up with nothing listening (bubblewrap, ECONNREFUSED).
                    Assert.Matches(@"^(ConnectionRefusedError 111|OSError 101) ", r.Stdout);
                else
                    Assert.StartsWith("PermissionError None network access is disabled in the sandbox", r.Stdout);
                Assert.False(listener.Pending());
            }
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task A_memory_bomb_is_stopped_by_the_memory_limit()
    {
        foreach (var (level, sandbox) in await AtEveryLevel(new SandboxOptions { MemoryLimitBytes = 256L << 20 }))
        {
            // The limit leaves room for ordinary programs…
            var modest = await sandbox.RunAsync("block = bytearray(64 * 1024 * 1024)\nprint(len(block))\n");
            Assert.True(modest.Passed, modest.Stderr);
            // …and stops one that keeps allocating, with a clear error.
            var bomb = await sandbox.RunAsync("chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n");
            output.WriteLine($"{level.Level}: stopped after {bomb.Duration.TotalSeconds:0.00} s: {bomb.Stderr.Trim().Split('\n')[^1]}");
            Assert.False(bomb.Passed);
            Assert.False(bomb.TimedOut);
            Assert.Contains("MemoryError", bomb.Stderr);
        }
        // The default limit is 1 GiB.
        var huge = await (await CodeSandbox.CreateAsync(CodeSandboxTests.Strongest)).RunAsync("block = bytearray(2 * 1024 ** 3)\n");
        Assert.Contains("MemoryError", huge.Stderr);
    }

    [Fact]
    public async Task A_fork_bomb_is_contained_and_nothing_outlives_the_run()
    {
        // posix.fork is what the guard's disabled os.fork leaves: this program stands for code that gets past it.
        const string program = """
            import os, posix, time
            print(os.environ['HOME'], flush=True)
            try:
                os.fork()
            except PermissionError as e:
                print(e, flush=True)
            children = 0
            try:
                for _ in range(40):
                    if posix.fork() == 0:
                        time.sleep(60)
                        posix._exit(0)
                    children += 1
                print('forked', children, flush=True)
            except OSError as e:
                print('refused after', children, type(e).__name__, flush=True)
            time.sleep(60)
            """;
        foreach (var (level, sandbox) in await AtEveryLevel(new SandboxOptions { Timeout = TimeSpan.FromSeconds(5), MaxProcesses = 8 }))
        {
            var clock = Stopwatch.StartNew();
            var r = await sandbox.RunAsync(program);
            output.WriteLine($"{level.Level}: {r.Stdout.Trim().Replace('\n', ' ')}; killed after {r.Duration.TotalSeconds:0.00} s, returned after {clock.Elapsed.TotalSeconds:0.00} s");
            var lines = r.Stdout.Split('\n');
            Assert.Equal("os.fork is disabled in the sandbox", lines[1]);
            if (level.ProcessLimitEnforced)
                Assert.InRange(int.Parse(Assert.Single(lines, l => l.StartsWith("refused after ")).Split(' ')[2]), 0, 8);
            else
                Assert.DoesNotContain(lines, l => l.StartsWith("refused")); // root: only the kill at the timeout contains it
            Assert.True(r.TimedOut);
            Assert.InRange(clock.Elapsed.TotalSeconds, 5.0, 10.0);
            Assert.Empty(await Survivors("HOME=" + lines[0] + "\0"));
        }
    }

    [Fact]
    public async Task A_child_that_leaves_its_session_dies_with_the_PID_namespace_and_never_holds_up_the_run()
    {
        // The child escapes the process group the weakest level kills, keeps stdout open, and outlives its parent.
        const string program = """
            import os, posix, time
            print(os.environ['HOME'], flush=True)
            if posix.fork() == 0:
                posix.setsid()
                time.sleep(30)
                posix._exit(0)
            """;
        foreach (var (level, sandbox) in await AtEveryLevel())
        {
            var clock = Stopwatch.StartNew();
            var r = await sandbox.RunAsync(program);
            output.WriteLine($"{level.Level}: returned after {clock.Elapsed.TotalSeconds:0.00} s");
            Assert.True(r.Passed, r.Stderr);
            Assert.InRange(clock.Elapsed.TotalSeconds, 0, 6); // not the child's 30 s
            var survivors = await Survivors("HOME=" + r.Stdout.Trim() + "\0");
            foreach (int pid in survivors) Process.GetProcessById(pid).Kill();
            // A pids cgroup lists every process of the run, wherever it moved; without one, a child that left the
            // process group outlives the weakest level, as documented.
            if (level.Level >= IsolationLevel.UnshareNet || PidsCgroup.Available) Assert.Empty(survivors);
            else Assert.Single(survivors);
        }
    }

    [Fact]
    public async Task A_stdout_flood_is_truncated_without_blocking_the_program()
    {
        var sandbox = await CodeSandbox.CreateAsync(CodeSandboxTests.Strongest with { MaxOutputBytes = 64 * 1024 });
        var r = await sandbox.RunAsync("import sys\nfor _ in range(2000):\n    sys.stdout.write('x' * 10000)\nprint('done', file=sys.stderr)\n");
        output.WriteLine($"20 MB of output in {r.Duration.TotalSeconds:0.00} s");
        Assert.True(r.Passed, r.Stderr);
        Assert.True(r.OutputTruncated);
        Assert.Equal(new string('x', 64 * 1024), r.Stdout);
        Assert.Equal("done\n", r.Stderr);
    }

    static string PythonList(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(i => "'" + i.Replace("\\", "\\\\").Replace("'", "\\'") + "'")) + "]";

    /// <summary>Processes still running with this environment entry (killed ones may take a moment to go).</summary>
    static async Task<List<int>> Survivors(string environmentEntry)
    {
        var survivors = new List<int>();
        for (int attempt = 0; attempt < 20; attempt++)
        {
            survivors = Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).OfType<string>()
                .Where(name => name.All(char.IsAsciiDigit) && HasEnvironmentEntry(name, environmentEntry)).Select(int.Parse).ToList();
            if (survivors.Count == 0) break;
            await Task.Delay(100);
        }
        return survivors;
    }

    static bool HasEnvironmentEntry(string pid, string entry)
    {
        try { return File.ReadAllText($"/proc/{pid}/environ").Contains(entry); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; } // gone, or not ours
    }

    /// <summary>Our own test program, deliberately outside the sandbox, as the control for a containment test.</summary>
    static async Task<string> RunOnHost(string program)
    {
        using var process = Process.Start(new ProcessStartInfo("python3", ["-c", program]) { RedirectStandardOutput = true })!;
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return stdout;
    }
}
