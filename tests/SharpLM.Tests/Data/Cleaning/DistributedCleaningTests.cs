using System.Text.Json;
using SharpLM.Tests.Cli;

namespace SharpLM.Tests.Data.Cleaning;

public class DistributedCleaningTests
{
    const int Documents = 60; // 2 ranks split at 30, 3 ranks at 20 and 40

    static readonly string[] Vocabulary =
        "river stone harbor lantern meadow copper violet thunder orchard silver candle window mountain garden winter falcon marble velvet ember willow canyon lagoon prairie summit"
            .Split(' ');

    /// <summary>
    /// Random-word documents with every kind of duplicate placed before index 20 and its copy after index 40, so the
    /// pair is split by every rank boundary of 2 and 3 ranks.
    /// </summary>
    static List<(string Id, string Text)> Corpus()
    {
        var random = new Random(18);
        string Line() => string.Join(' ', Enumerable.Range(0, 12).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));
        var docs = Enumerable.Range(0, Documents).Select(i => ($"d{i}", string.Join('\n', Enumerable.Range(0, 10).Select(_ => Line())))).ToList();
        docs[45] = ("exact_copy_of_d5", "  " + docs[5].Item2.ToUpperInvariant());
        string[] words = docs[7].Item2.Split(' ');
        words[60] = "zeppelin";
        docs[50] = ("near_copy_of_d7", string.Join(' ', words));
        docs[55] = ("shares_a_line_with_d3", docs[55].Item2 + "\n" + docs[3].Item2.Split('\n')[4]);
        docs[58] = ("only_lines_of_d1_and_d4", docs[1].Item2.Split('\n')[2] + "\n" + docs[4].Item2.Split('\n')[6]);
        docs[47] = ("pii", docs[47].Item2 + "\nwrite to jane.roe@example.com");
        return docs;
    }

    static string[] Clean(TempDirectory dir, string name) =>
    [
        "data", "clean", "--input", dir.File("in.jsonl"), "--output", dir.File($"{name}/out.jsonl.gz"), "--rejected", dir.File($"{name}/rejected.jsonl"),
        "--quality", "none", "--dedup", "minhash", "--line-dedup", "line", "--decontaminate", dir.File("eval.jsonl"), "--threads", "1",
    ];

    static string ReportWithoutTimings(string path)
    {
        var report = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(path))!;
        foreach (string timing in new[] { "seconds", "documents_per_second", "megabytes_per_second", "peak_working_set_mb" }) report.Remove(timing);
        return JsonSerializer.Serialize(report);
    }

    [OpenMpiFact]
    public void Two_and_three_ranks_write_one_process_bytes_and_drop_duplicates_across_rank_boundaries()
    {
        using var dir = new TempDirectory();
        var corpus = Corpus();
        File.WriteAllLines(dir.File("in.jsonl"), corpus.Select(d => JsonSerializer.Serialize(new { id = d.Id, text = d.Text })));
        File.WriteAllText(dir.File("eval.jsonl"), JsonSerializer.Serialize(new { question = corpus[52].Text.Split('\n')[3] }) + "\n");

        var one = CliProcess.Run(Clean(dir, "one"));
        Assert.True(one.ExitCode == 0, one.Stderr);
        string rejected = File.ReadAllText(dir.File("one/rejected.jsonl"));
        // Each copy lies in another rank's range than its original, so only an exchange of keys finds it.
        Assert.Contains("\"id\":\"exact_copy_of_d5\"", rejected);
        Assert.Contains("\"id\":\"near_copy_of_d7\"", rejected);
        Assert.Contains("\"id\":\"only_lines_of_d1_and_d4\"", rejected);
        Assert.Contains("\"id\":\"d52\"", rejected);
        Assert.Equal(4, rejected.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        foreach (int ranks in new[] { 2, 3 })
        {
            var (exit, output) = OpenMpi.RunCli(ranks, Clean(dir, $"ranks{ranks}"));
            Assert.True(exit == 0, output);
            Assert.Contains($"cleaning over {ranks} MPI ranks", output);
            Assert.Equal(File.ReadAllBytes(dir.File("one/out.jsonl.gz")), File.ReadAllBytes(dir.File($"ranks{ranks}/out.jsonl.gz")));
            Assert.Equal(rejected, File.ReadAllText(dir.File($"ranks{ranks}/rejected.jsonl")));
            Assert.Equal(ReportWithoutTimings(dir.File("one/report.json")), ReportWithoutTimings(dir.File($"ranks{ranks}/report.json")));
        }
        string report = File.ReadAllText(dir.File("ranks3/report.json"));
        Assert.Contains("\"d7\": [\n      \"near_copy_of_d7\"", report.Replace("\r", ""));
        Assert.Contains("\"duplicate_lines_removed\": 1,", report); // d3's line, removed from shares_a_line_with_d3
    }
}
