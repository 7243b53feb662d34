using System.Diagnostics;
using SharpLM.Data.Cleaning;
using SharpLM.Evaluation.Harness;
using SharpLM.Runtime;
using Xunit.Abstractions;

namespace SharpLM.Tests.Runtime;

public class YamlAsJsonTests(ITestOutputHelper output)
{
    /// <summary>"Billion laughs": nine levels of nine aliases each, 9^9 ≈ 387 million strings from about 1 KB.</summary>
    static string Bomb(string leaf)
    {
        var lines = new List<string> { $"l0: &l0 [{string.Join(", ", Enumerable.Repeat($"\"{leaf}\"", 9))}]" };
        for (int level = 1; level <= 9; level++)
            lines.Add($"l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 9))}]");
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>Runs <paramref name="load"/> (expected to fail) and returns its error, the time and this thread's allocations.</summary>
    (InvalidInputException Error, TimeSpan Elapsed, long Allocated) Measure(Action load)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<InvalidInputException>(load);
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{clock.Elapsed.TotalMilliseconds:F0} ms, {allocated / 1024.0:F0} KiB allocated: {error.Message}");
        return (error, clock.Elapsed, allocated);
    }

    [Fact]
    public void A_billion_laughs_pipeline_file_is_refused_quickly_in_bounded_memory()
    {
        using var dir = new TempDirectory();
        string path = dir.File("clean.yaml");
        File.WriteAllText(path, Bomb("lol"));
        Assert.InRange(new FileInfo(path).Length, 100, 2048);

        var (error, elapsed, allocated) = Measure(() => CleaningConfig.Load(path));
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains("alias", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed}");
        Assert.True(allocated < 16 << 20, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_billion_laughs_task_file_is_refused_quickly_in_bounded_memory()
    {
        using var dir = new TempDirectory();
        string path = dir.File("task.yaml");
        File.WriteAllText(path, "task: bomb\noutput_type: generate_until\ndataset: {path: x.jsonl}\n" + Bomb("lol"));

        var (error, elapsed, allocated) = Measure(() => TaskConfig.Load(path));
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains("alias", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed}");
        Assert.True(allocated < 16 << 20, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_single_alias_is_refused_even_when_it_would_not_grow_much()
    {
        var e = Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => YamlAsJson.Parse("a: &x 1\nb: *x\n"));
        Assert.Contains("aliases are not supported", e.Message);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_without_exhausting_the_stack()
    {
        string deep = new string('[', 100_000) + new string(']', 100_000);
        var e = Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => YamlAsJson.Parse(deep));
        Assert.Contains($"deeper than {YamlAsJson.MaxDepth}", e.Message);
        Assert.Equal(System.Text.Json.JsonValueKind.Array, YamlAsJson.Parse(new string('[', 10) + "1" + new string(']', 10)).ValueKind);
    }
}
