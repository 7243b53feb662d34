using SharpLM.Sandbox;
using SharpLM.Evaluation.CodeExecution;
using Xunit.Abstractions;

namespace SharpLM.Tests.Evaluation.CodeExecution;

public class CodeSandboxTests(ITestOutputHelper output)
{
    /// <summary>Bubblewrap where it works, else the strongest weaker level: these tests are about behaviour, not isolation.</summary>
    internal static readonly SandboxOptions Strongest = new() { AllowWeakIsolation = true };

    [Fact]
    public async Task Default_isolation_is_bubblewrap_or_a_refusal_and_the_strongest_when_weaker_is_allowed()
    {
        var levels = await CodeSandbox.AvailableIsolationAsync();
        foreach (var level in levels) output.WriteLine($"works here: {level}");
        if (levels.Any(l => l.Level == IsolationLevel.Bubblewrap))
            Assert.Equal(IsolationLevel.Bubblewrap, (await CodeSandbox.CreateAsync()).Isolation.Level);
        else
            await Assert.ThrowsAsync<SandboxUnavailableException>(() => CodeSandbox.CreateAsync());
        var sandbox = await CodeSandbox.CreateAsync(Strongest);
        output.WriteLine(sandbox.Summary);
        Assert.Contains(levels, l => l.Level == IsolationLevel.PreambleOnly);
        Assert.Equal(levels.Max(l => l.Level), sandbox.Isolation.Level);
        Assert.Equal(sandbox.Isolation.Level, (await sandbox.RunAsync("pass")).Isolation);
        // A report on weaker isolation says why the stronger levels were not used.
        if (sandbox.Isolation.Level < IsolationLevel.Bubblewrap) Assert.Contains("Bubblewrap unavailable: ", sandbox.Summary);
    }

    [Fact]
    public async Task Output_and_exit_code_are_reported()
    {
        var sandbox = await CodeSandbox.CreateAsync(Strongest);
        var ok = await sandbox.RunAsync("import sys\nprint('hello')\nprint('warning', file=sys.stderr)\n");
        Assert.True(ok.Passed, ok.Stderr);
        Assert.Equal((0, "hello\n", "warning\n", false), (ok.ExitCode, ok.Stdout, ok.Stderr, ok.OutputTruncated));

        var failed = await sandbox.RunAsync("def f():\n    raise ValueError('boom')\nf()\n");
        Assert.False(failed.Passed);
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("ValueError: boom", failed.Stderr);
        Assert.Contains("program.py\", line 2, in f", failed.Stderr); // line numbers of the program itself

        var syntax = await sandbox.RunAsync("def f(:\n");
        Assert.False(syntax.Passed);
        Assert.Contains("SyntaxError", syntax.Stderr);
    }

    [Fact]
    public async Task Exiting_before_the_tests_counts_as_a_failure_as_in_human_eval()
    {
        var sandbox = await CodeSandbox.CreateAsync(Strongest);
        foreach (string exit in new[] { "import sys\nsys.exit(0)", "exit()", "raise SystemExit" })
        {
            var r = await sandbox.RunAsync(exit + "\nassert False\n");
            Assert.False(r.Passed, exit);
            Assert.Contains("counted as a failure", r.Stderr);
        }
    }

    [Fact]
    public async Task Each_run_has_a_fresh_work_directory_deleted_afterwards()
    {
        var sandbox = await CodeSandbox.CreateAsync(Strongest);
        const string program = """
            import os, sys
            print(os.path.dirname(__file__))
            print(sorted(os.listdir('.')))
            open('scratch.txt', 'w').write('x')
            """;
        var first = await sandbox.RunAsync(program);
        var second = await sandbox.RunAsync(program);
        Assert.True(first.Passed && second.Passed, first.Stderr + second.Stderr);
        string[] a = first.Stdout.Split('\n'), b = second.Stdout.Split('\n');
        Assert.NotEqual(a[0], b[0]);
        Assert.Equal("['program.py']", a[1]);
        Assert.Equal("['program.py']", b[1]); // scratch.txt of the first run is not there
        Assert.False(Directory.Exists(a[0]));
        Assert.False(Directory.Exists(b[0]));
    }

    [Fact]
    public async Task The_host_environment_is_not_passed_on()
    {
        const string name = "SHARPLM_SANDBOX_TEST_SECRET";
        Environment.SetEnvironmentVariable(name, "api-key");
        try
        {
            var r = await (await CodeSandbox.CreateAsync(Strongest)).RunAsync($"import os\nprint(os.environ.get('{name}'), os.environ['HOME'] == os.path.dirname(__file__))\n");
            Assert.Equal("None True\n", r.Stdout);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public async Task The_guard_disables_destructive_calls_at_every_level()
    {
        const string program = """
            import os, shutil, subprocess
            for name, call in [('remove', lambda: os.remove('program.py')), ('rmtree', lambda: shutil.rmtree('.')),
                               ('system', lambda: os.system('true')), ('Popen', lambda: subprocess.Popen(['true'])),
                               ('kill', lambda: os.kill(os.getpid(), 0)), ('fork', os.fork)]:
                try:
                    call()
                    print(name, 'ran')
                except PermissionError:
                    print(name, 'refused')
            """;
        foreach (var level in await CodeSandbox.AvailableIsolationAsync())
        {
            var r = await (await CodeSandbox.CreateAsync(new SandboxOptions { Isolation = level.Level })).RunAsync(program);
            Assert.True(r.Passed, r.Stderr);
            Assert.Equal("remove refused\nrmtree refused\nsystem refused\nPopen refused\nkill refused\nfork refused\n", r.Stdout);
        }
    }

    [Fact]
    public async Task RunAll_returns_results_in_input_order()
    {
        var sandbox = await CodeSandbox.CreateAsync(Strongest);
        // Later programs finish first.
        var programs = Enumerable.Range(0, 6).Select(i => $"import time\ntime.sleep({(5 - i) * 0.1:0.0})\nprint({i})\n").ToList();
        var results = await sandbox.RunAllAsync(programs, maxParallelism: 3);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"{i}\n"), results.Select(r => r.Stdout));
    }

    [Fact]
    public async Task Missing_python_is_a_skip_with_a_clear_message_not_a_score()
    {
        var e = await Assert.ThrowsAsync<PythonNotFoundException>(() => CodeSandbox.CreateAsync(new SandboxOptions { PythonExecutable = "/nonexistent/python3" }));
        output.WriteLine(e.Message);
        Assert.StartsWith("skipped: python3 not found", e.Message);
        Assert.Contains("/nonexistent/python3", e.Message);
        await Assert.ThrowsAsync<PythonNotFoundException>(() => CodeSandbox.AvailableIsolationAsync("sharplm-no-such-python3"));
    }
}
