using SharpLM.Sandbox;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Xunit.Abstractions;

namespace SharpLM.Tests.Evaluation.CodeExecution;

/// <summary>
/// Every containment test, many rounds, several rounds at once: the flood test once failed only on a loaded
/// machine, so load is part of the test. One process, so the rounds cost test bodies, not test-host starts. The
/// suite runs one round, every containment test at once; bench/sandbox-stress.sh sets SHARPLM_SANDBOX_STRESS=50
/// rounds under CPU hogs.
/// </summary>
public class ContainmentStress(ITestOutputHelper output)
{
    sealed class Collected : ITestOutputHelper
    {
        public void WriteLine(string message) { }
        public void WriteLine(string format, params object[] args) { }
    }

    [Fact]
    public async Task Every_containment_test_passes_in_every_round_under_load()
    {
        int rounds = int.Parse(Environment.GetEnvironmentVariable("SHARPLM_SANDBOX_STRESS") ?? "1");
        int parallel = int.Parse(Environment.GetEnvironmentVariable("SHARPLM_SANDBOX_STRESS_PARALLEL") ?? "4");
        var tests = typeof(ContainmentTests).GetMethods().Where(m => m.GetCustomAttribute<FactAttribute>() is { Skip: null }).ToList();
        var failures = new ConcurrentBag<string>();
        int passedRounds = 0;
        using var gate = new SemaphoreSlim(parallel);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(1, rounds).Select(async round =>
        {
            await gate.WaitAsync();
            try
            {
                bool all = true;
                foreach (var test in tests)
                {
                    try { await (Task)test.Invoke(new ContainmentTests(new Collected()), null)!; }
                    catch (Exception e)
                    {
                        all = false;
                        var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
                        failures.Add($"round {round}: {test.Name}: {inner.Message.ReplaceLineEndings(" ")}");
                    }
                }
                if (all) Interlocked.Increment(ref passedRounds);
            }
            finally
            {
                gate.Release();
            }
        }));
        foreach (string failure in failures.OrderBy(f => f)) output.WriteLine(failure);
        output.WriteLine($"sandbox stress: {passedRounds}/{rounds} rounds passed ({tests.Count} containment tests each, {parallel} rounds at a time, " +
            $"{Environment.ProcessorCount} cores) in {clock.Elapsed.TotalMinutes:0.0} min");
        Assert.Empty(failures);
    }
}
