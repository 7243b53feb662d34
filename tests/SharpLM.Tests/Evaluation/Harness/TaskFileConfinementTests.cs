using System.Diagnostics;
using System.IO.Compression;
using SharpLM.Data.Catalog;
using SharpLM.Evaluation.Harness;
using Xunit.Abstractions;

namespace SharpLM.Tests.Evaluation.Harness;

/// <summary>Task files come from strangers: what they name must stay in the data mirror, and what they hold must be bounded.</summary>
public class TaskFileConfinementTests(ITestOutputHelper output)
{
    static TaskConfig Task(string? path = null, string? promptFile = null) => new()
    {
        Task = "stranger", OutputType = OutputType.GenerateUntil, DocToText = "{{q}}",
        Dataset = new DatasetSpec { Path = path ?? "docs.jsonl" },
        Fewshot = new FewShotSpec { PromptFile = promptFile },
    };

    static DataStore Mirror(TempDirectory dir)
    {
        Directory.CreateDirectory(dir.File("mirror"));
        File.WriteAllText(dir.File("mirror/docs.jsonl"), "{\"q\": \"1+1\"}\n{\"q\": \"2+2\"}\n");
        return new DataStore(new DataStoreOptions { CacheDirectory = dir.File("cache"), Mirrors = [dir.File("mirror")] }, new DatasetManifest([]));
    }

    [Fact]
    public void A_prompt_file_of_proc_self_environ_is_refused()
    {
        using var dir = new TempDirectory();
        var store = Mirror(dir);
        var task = Task(promptFile: "/proc/self/environ");
        var docs = TaskDataset.Load(task, store).Documents;
        var e = Assert.Throws<InvalidInputException>(() => new PromptBuilder(task, docs, 0, 1, store));
        Assert.StartsWith("/proc/self/environ: task stranger, fewshot.prompt_file: absolute paths and '..' are refused", e.Message);
        Assert.Contains("--allow-any-path", e.Message);
    }

    [Fact]
    public void An_absolute_dataset_path_is_refused_unless_any_path_is_allowed()
    {
        using var dir = new TempDirectory();
        var store = Mirror(dir);
        string secret = dir.File("secret.jsonl");
        File.WriteAllText(secret, "{\"q\": \"AWS_SECRET_ACCESS_KEY=...\"}\n");
        var e = Assert.Throws<InvalidInputException>(() => TaskDataset.Load(Task(secret), store));
        Assert.StartsWith($"{secret}: task stranger, dataset.path:", e.Message);
        Assert.Single(TaskDataset.Load(Task(secret), store, allowAnyPath: true).Documents);
    }

    [Theory]
    [InlineData("../secret.jsonl")]
    [InlineData("sub/../../secret.jsonl")]
    public void A_dotdot_escape_from_the_mirror_is_refused(string path)
    {
        using var dir = new TempDirectory();
        var store = Mirror(dir);
        Directory.CreateDirectory(dir.File("mirror/sub"));
        File.WriteAllText(dir.File("secret.jsonl"), "{\"q\": \"secret\"}\n");
        var e = Assert.Throws<InvalidInputException>(() => TaskDataset.Load(Task(path), store));
        Assert.Contains("'..'", e.Message);
        // The data store refuses it too, whoever asks.
        Assert.Contains("stay inside the mirror", Assert.Throws<InvalidInputException>(() => store.ResolveFile(path)).Message);
        Assert.Contains("stay inside the mirror", Assert.Throws<InvalidInputException>(() => store.ResolveFile(dir.File("secret.jsonl"))).Message);
    }

    [Fact]
    public void A_relative_path_inside_the_mirror_still_loads()
    {
        using var dir = new TempDirectory();
        Assert.Equal(2, TaskDataset.Load(Task(), Mirror(dir)).Documents.Count);
    }

    [Fact]
    public void A_gzip_bomb_is_refused_in_bounded_memory()
    {
        using var dir = new TempDirectory();
        var store = Mirror(dir);
        // One gzip member of 64 MiB of zeros, repeated: gzip readers concatenate members, so 17 of them expand past 1 GiB.
        byte[] member;
        using (var buffer = new MemoryStream())
        {
            using (var gz = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                byte[] zeros = new byte[1 << 20];
                for (int i = 0; i < 64; i++) gz.Write(zeros);
            }
            member = buffer.ToArray();
        }
        int members = (int)(TaskDataset.MaxDecompressedBytes / (64 << 20)) + 1;
        string bomb = dir.File("mirror/bomb.jsonl.gz");
        using (var file = File.Create(bomb)) for (int i = 0; i < members; i++) file.Write(member);
        output.WriteLine($"{new FileInfo(bomb).Length:N0} bytes of gzip, {members * 64L << 20:N0} decompressed");

        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidInputException>(() => TaskDataset.Load(Task("bomb.jsonl.gz"), store));
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{clock.Elapsed.TotalMilliseconds:F0} ms, {allocated / 1024.0:F0} KiB allocated: {e.Message}");
        Assert.StartsWith($"{bomb}: decompresses to more than 1024 MiB", e.Message);
        Assert.True(allocated < 64 << 20, $"allocated {allocated:N0} bytes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_catastrophic_backtracking_filter_regex_is_stopped_with_a_one_line_error()
    {
        // (a+)+$ against 40 a's and a '!' takes about 2^40 steps without a timeout.
        var filters = new List<FilterSpec> { new() { Regex = "^(a+)+$" } };
        string generated = new string('a', 40) + "!";
        var clock = Stopwatch.StartNew();
        var run = System.Threading.Tasks.Task.Run(() => Assert.Throws<InvalidInputException>(() => AnswerExtraction.Apply(filters, generated)));
        // Old code would spin for hours: give up waiting (the test fails) rather than hang the suite.
        var error = await run.WaitAsync(TimeSpan.FromSeconds(20));
        output.WriteLine($"{clock.Elapsed.TotalMilliseconds:F0} ms: {error.Message}");
        Assert.Contains("catastrophic backtracking", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        // An ordinary pattern still extracts.
        Assert.Equal("42", AnswerExtraction.Apply([new() { Regex = @"#### (\d+)" }], "so #### 42"));
    }

    [Fact]
    public void A_malformed_filter_regex_is_refused_on_load_naming_the_file_and_field()
    {
        using var dir = new TempDirectory();
        string path = dir.File("task.yaml");
        File.WriteAllText(path, "task: t\noutput_type: generate_until\ndataset: {path: x.jsonl}\nfilters:\n  - regex: '(unclosed'\n");
        var e = Assert.Throws<InvalidInputException>(() => TaskConfig.Load(path));
        Assert.StartsWith($"{path}: filters[0].regex:", e.Message);
    }

    [Fact]
    public void A_dataset_file_over_the_cap_is_refused_without_reading_it()
    {
        using var dir = new TempDirectory();
        var store = Mirror(dir);
        using (var f = File.Create(dir.File("mirror/huge.jsonl"))) f.SetLength(TaskDataset.MaxDecompressedBytes + 1); // sparse: no disk
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidInputException>(() => TaskDataset.Load(Task("huge.jsonl"), store));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{allocated / 1024.0:F0} KiB allocated: {e.Message}");
        Assert.Equal($"{dir.File("mirror/huge.jsonl")}: larger than 1024 MiB, the most a task dataset or prompt file may", e.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated:N0} bytes");
    }
}
