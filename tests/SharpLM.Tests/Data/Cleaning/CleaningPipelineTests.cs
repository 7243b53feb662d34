using SharpLM.Data;
using SharpLM.Data.Cleaning;
using SharpLM.Data.Dedup;
using SharpLM.Data.Ingestion;
using SharpLM.Tests.Cli;

namespace SharpLM.Tests.Data.Cleaning;

public class CleaningPipelineTests
{
    static List<Document> Corpus()
    {
        string text = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"));
        string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var docs = new List<Document>();
        for (int i = 0; i < 60; i++)
        {
            string body = string.Join(' ', words, i * 400, 170);
            docs.Add(new Document($"d{i}", body));
            if (i % 6 == 0) docs.Add(new Document($"exact{i}", "  " + body.ToUpperInvariant() + "  "));
            if (i % 6 == 1) docs.Add(new Document($"near{i}", body[..(body.Length / 2)] + " and so " + body[(body.Length / 2)..])); // two words inserted
            if (i % 6 == 2) docs.Add(new Document($"pii{i}", string.Join(' ', words, 50_000 + i * 400, 170) + " Write to jane.roe@example.com today."));
        }
        docs.Add(new Document("short", "Too short."));
        return docs;
    }

    static (CleaningReport Report, string Kept, string Rejected) Run(int threads, int batch)
    {
        using var dir = new TempDirectory();
        var kept = new JsonlWriter(dir.File("kept.jsonl"));
        var rejected = new JsonlWriter(dir.File("rejected.jsonl"));
        var options = new CleaningPipelineOptions
        {
            Filters = new IDocumentFilter[] { new GopherQualityFilter(), new GopherRepetitionFilter() },
            Threads = threads, BatchSize = batch,
        };
        var report = new CleaningPipeline(options).Run(Corpus(), kept, rejected);
        kept.Commit();
        rejected.Commit();
        return (report, File.ReadAllText(dir.File("kept.jsonl")), File.ReadAllText(dir.File("rejected.jsonl")));
    }

    [DataFact("tinyshakespeare")]
    public void Duplicates_and_low_quality_are_removed_pii_is_redacted_and_counts_add_up()
    {
        var (report, kept, rejected) = Run(threads: 2, batch: 16);
        Assert.Equal(1, report.Stages["gopher_quality"].Rejected["gopher_too_few_words"]);
        Assert.Equal(10, report.Stages["exact_dedup"].Rejected["exact_duplicate"]);
        Assert.Equal(10, report.Stages["minhash_dedup"].Rejected["near_duplicate"]);
        Assert.Equal(10, report.PiiRedactions["Email"]);
        Assert.DoesNotContain("jane.roe@example.com", kept);
        Assert.Contains("<EMAIL>", kept);
        Assert.Contains("\"reason\":\"near_duplicate\"", rejected);
        foreach (var stage in report.Stages.Values)
        {
            Assert.Equal(stage.DocumentsIn, stage.DocumentsOut + stage.Rejected.Values.Sum());
            if (stage != report.Stages["pii"]) Assert.Equal(stage.BytesIn, stage.BytesOut + stage.RejectedBytes.Values.Sum()); // redaction changes lengths
        }
        Assert.Equal(70, kept.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // 60 originals + 10 with PII
        Assert.All(report.NearDuplicateClusters, c => Assert.StartsWith("d", c.Key));
    }

    [DataFact("tinyshakespeare")]
    public void Output_is_identical_for_any_thread_count_and_batch_size()
    {
        var a = Run(threads: 1, batch: 7);
        var b = Run(threads: 2, batch: 64);
        Assert.Equal(a.Kept, b.Kept);
        Assert.Equal(a.Rejected, b.Rejected);
    }

    [DataFact("tinyshakespeare", "gsm8k")]
    public void Command_line_cleans_a_jsonl_file_and_writes_the_report()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("in.jsonl"), Corpus().Select(d => System.Text.Json.JsonSerializer.Serialize(new { id = d.Id, text = d.Text })).Append("{broken"));
        var r = CliProcess.Run("data", "clean", "--input", dir.File("in.jsonl"), "--output", dir.File("out/clean.jsonl.gz"), "--rejected", dir.File("out/rejected.jsonl"),
            "--decontaminate", TestData.Path("gsm8k/test.jsonl"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(dir.File("out/clean.jsonl.gz")));
        string report = File.ReadAllText(dir.File("out/report.json"));
        Assert.Contains("\"bad_records\": 1", report);
        Assert.Contains("near_duplicate", report);
        Assert.Contains("decontamination", report);

        // The cleaned output is what tokenization takes next.
        var prepare = CliProcess.Run("data", "prepare", "--input", dir.File("out/clean.jsonl.gz"), "--tokenizer", "char", "--out", dir.File("prepared"));
        Assert.True(prepare.ExitCode == 0, prepare.Stderr);
        Assert.True(File.Exists(dir.File("prepared/train.bin")), string.Join(", ", Directory.GetFiles(dir.File("prepared"))));
    }

    [DataFact("tinyshakespeare")]
    public void Line_dedup_removes_boilerplate_seen_in_earlier_documents_and_is_reported()
    {
        const string footer = "Subscribe to our newsletter for more stories like this one.";
        var docs = Corpus().Where(d => d.Id.StartsWith('d')).Take(20).Select(d => d with { Text = d.Text + "\n" + footer }).ToList();
        using var dir = new TempDirectory();
        var kept = new JsonlWriter(dir.File("kept.jsonl"));
        var options = new CleaningPipelineOptions { LineDedup = new LineDedupOptions(), MinHash = null, Threads = 2, BatchSize = 8 };
        var report = new CleaningPipeline(options).Run(docs, kept, null);
        kept.Commit();
        var texts = File.ReadAllLines(dir.File("kept.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToList();
        Assert.Equal(20, texts.Count);
        Assert.EndsWith(footer, texts[0]);
        Assert.All(texts.Skip(1), t => Assert.DoesNotContain(footer, t));
        Assert.Equal(19, report.DuplicateLinesRemoved);
        var stage = report.Stages["line_dedup"];
        Assert.Equal(19L * (footer.Length + 1), stage.BytesIn - stage.BytesOut);
    }

    [DataFact("tinyshakespeare")]
    public void Command_line_runs_a_yaml_pipeline_and_refuses_stage_flags_beside_it()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("in.jsonl"), Corpus().Select(d => System.Text.Json.JsonSerializer.Serialize(new { id = d.Id, text = d.Text })));
        File.WriteAllText(dir.File("pipeline.yaml"), """
            input: in.jsonl
            output: out/clean.jsonl
            filters: [gopher_quality, gopher_repetition]
            dedup: { exact: true, minhash: false }
            pii: false
            """);
        var r = CliProcess.Run("data", "clean", "--config", dir.File("pipeline.yaml"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        string report = File.ReadAllText(dir.File("out/report.json"));
        Assert.Contains("exact_duplicate", report);
        Assert.DoesNotContain("minhash_dedup", report);
        Assert.Contains("jane.roe@example.com", File.ReadAllText(dir.File("out/clean.jsonl"))); // pii: false

        var both = CliProcess.Run("data", "clean", "--config", dir.File("pipeline.yaml"), "--dedup", "exact");
        Assert.NotEqual(0, both.ExitCode);
        Assert.Contains("--dedup", both.Stderr);
    }

    [DataFact("tinyshakespeare")]
    public void A_killed_run_leaves_the_previous_output_intact_and_a_rerun_reproduces_it()
    {
        using var dir = new TempDirectory();
        string text = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"));
        string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var random = new SharpLM.Runtime.SplitMix64(3);
        // Enough documents that the run is still going when the first output block reaches the disk.
        File.WriteAllLines(dir.File("in.jsonl"), Enumerable.Range(0, 30_000).Select(i =>
            System.Text.Json.JsonSerializer.Serialize(new { id = $"d{i}", text = string.Join(' ', words, (int)random.NextLong(words.Length - 200), 180) })));
        string[] args = ["data", "clean", "--input", dir.File("in.jsonl"), "--output", dir.File("out/clean.jsonl"), "--threads", "2"];
        var first = CliProcess.Run(args);
        Assert.True(first.ExitCode == 0, first.Stderr);
        byte[] expected = File.ReadAllBytes(dir.File("out/clean.jsonl"));

        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!Directory.GetFiles(dir.File("out"), "clean.jsonl.tmp-*").Any(f => new FileInfo(f).Length > 0) && !p.HasExited && DateTime.UtcNow < deadline)
                Thread.Sleep(10);
            Assert.False(p.HasExited, "the run finished before it could be interrupted");
            p.Kill(entireProcessTree: true); // SIGKILL: no cleanup code runs
            p.WaitForExit();
        }
        Assert.Equal(expected, File.ReadAllBytes(dir.File("out/clean.jsonl"))); // the finished output was not touched

        var rerun = CliProcess.Run(args);
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Equal(expected, File.ReadAllBytes(dir.File("out/clean.jsonl")));
    }
}
