using SharpLM.Sandbox;
using System.Diagnostics;
using SharpLM.Evaluation.CodeExecution;
using Xunit.Abstractions;

namespace SharpLM.Tests.Evaluation.CodeExecution;

public class BenchmarkProgramTests(ITestOutputHelper output)
{
    [Fact]
    public void HumanEval_program_is_prompt_completion_test_and_check_as_in_human_eval()
    {
        var problem = new HumanEvalProblem
        {
            TaskId = "T/0", Prompt = "def f():\n", CanonicalSolution = "    return 1\n",
            Test = "def check(candidate):\n    assert candidate() == 1\n", EntryPoint = "f",
        };
        Assert.Equal("def f():\n    return 2\n\ndef check(candidate):\n    assert candidate() == 1\n\ncheck(f)", problem.Program("    return 2\n"));
    }

    [Fact]
    public void Mbpp_program_is_imports_and_setup_code_then_completion_then_one_assert_per_line()
    {
        var problem = new MbppProblem { TaskId = 1, Code = "def f(): return 1", TestList = ["assert f() == 1", "assert f() != 2"], TestSetupCode = "x = 1" };
        Assert.Equal("x = 1\ndef g(): pass\nassert f() == 1\nassert f() != 2\n", problem.Program("def g(): pass"));
        Assert.Equal("import math\nimport re\nx = 1\ndef g(): pass\nassert f() == 1\nassert f() != 2\n",
            (problem with { TestImports = ["import math", "import re"] }).Program("def g(): pass"));
    }

    [Fact]
    public void Readers_name_the_file_and_line_of_a_bad_record()
    {
        using var dir = new TempDirectory();
        string path = dir.File("mbpp.jsonl");
        File.WriteAllLines(path, ["""{"task_id": 1, "code": "x = 1", "test_list": ["assert x == 1"]}""", "", """{"task_id": 2, "code": "x = 1"}"""]);
        var e = Assert.Throws<InvalidInputException>(() => MbppProblem.Load(path));
        Assert.StartsWith($"{path}: line 3:", e.Message);
        Assert.Contains("test_list", e.Message);
    }

    [DataFact("humaneval")]
    public async Task HumanEval_canonical_solutions_all_pass_and_empty_completions_all_fail()
    {
        var problems = HumanEvalProblem.Load(TestData.Path("humaneval/HumanEval.jsonl.gz"));
        Assert.Equal(164, problems.Count);
        var sandbox = await CodeSandbox.CreateAsync(CodeSandboxTests.Strongest);
        output.WriteLine(sandbox.Summary);

        var clock = Stopwatch.StartNew();
        var canonical = await sandbox.RunAllAsync(problems.Select(p => p.Program(p.CanonicalSolution)).ToList());
        output.WriteLine($"canonical: pass@1 = {PassRate(canonical):0.000} in {clock.Elapsed.TotalSeconds:0.0} s ({Environment.ProcessorCount} at a time)");
        clock.Restart();
        var empty = await sandbox.RunAllAsync(problems.Select(p => p.Program("")).ToList());
        output.WriteLine($"empty: pass@1 = {PassRate(empty):0.000} in {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.Empty(Failures(problems.Select(p => p.TaskId), canonical));
        Assert.Equal(0.0, PassRate(empty));
        // They fail on the tests (an empty body returns None), not by crashing the harness or timing out.
        Assert.All(empty, r => Assert.False(r.TimedOut));
        Assert.All(empty, r => Assert.Contains("Error", r.Stderr));
    }

    /// <summary>
    /// Tasks whose asserts call math.isclose while their reference code does not import math. The sanitized
    /// release lists "import math" in test_imports; shared/data's file, converted to the original MBPP fields, lost it.
    /// </summary>
    static readonly int[] MissingTestImports = [98, 124, 137, 139, 163, 233, 246, 248, 276, 300];

    [DataFact("mbpp")]
    public async Task Mbpp_reference_code_passes_all_sanitized_tasks_but_those_that_lost_their_test_imports()
    {
        var problems = MbppProblem.Load(TestData.Path("mbpp/mbpp_sanitized_427.jsonl"));
        Assert.Equal(427, problems.Count);
        var sandbox = await CodeSandbox.CreateAsync(CodeSandboxTests.Strongest);
        output.WriteLine(sandbox.Summary);

        var clock = Stopwatch.StartNew();
        var results = await sandbox.RunAllAsync(problems.Select(p => p.Program(p.Code)).ToList());
        output.WriteLine($"reference: pass@1 = {PassRate(results):0.000} in {clock.Elapsed.TotalSeconds:0.0} s ({Environment.ProcessorCount} at a time)");
        var failures = Failures(problems.Select(p => p.TaskId.ToString()), results);
        foreach (string failure in failures) output.WriteLine($"failed: {failure}");
        Assert.Equal(MissingTestImports.Select(id => $"{id}: NameError: name 'math' is not defined"), failures.Select(f => f.Split('.')[0]));

        // With the test import the release has, they pass too.
        var restored = problems.Where(p => MissingTestImports.Contains(p.TaskId)).Select(p => p with { TestImports = ["import math"] }).ToList();
        Assert.Empty(Failures(restored.Select(p => p.TaskId.ToString()), await sandbox.RunAllAsync(restored.Select(p => p.Program(p.Code)).ToList())));
    }

    static double PassRate(IReadOnlyList<ExecutionResult> results) => results.Count(r => r.Passed) / (double)results.Count;

    static List<string> Failures(IEnumerable<string> taskIds, IReadOnlyList<ExecutionResult> results) =>
        taskIds.Zip(results).Where(x => !x.Second.Passed)
            .Select(x => $"{x.First}: {(x.Second.TimedOut ? "timed out" : x.Second.Stderr.Trim().Split('\n')[^1])}").ToList();
}
