using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.Data.Ingestion;
using SharpLM.Data.Mixture;
using SharpLM.Runtime;

namespace SharpLM.Tests.Data.Mixture;

public class DataMixerTests
{
    /// <summary>A .jsonl source of documents "{name}-{i}" with random word counts and a "lang" field.</summary>
    static string WriteSource(TempDirectory dir, string name, int documents, int minWords, int maxWords, string word = "word", int seed = 0)
    {
        var random = new Random(seed + name.Sum(c => c)); // string.GetHashCode differs between runs
        string path = dir.File($"{name}.jsonl");
        using var writer = new JsonlWriter(path);
        for (int i = 0; i < documents; i++)
        {
            string text = string.Join(' ', Enumerable.Range(0, random.Next(minWords, maxWords + 1)).Select(k => $"{word}{k % 10}"));
            writer.Write(new Document($"{name}-{i}", text, new Dictionary<string, string> { ["lang"] = "\"en\"" }));
        }
        writer.Commit();
        return path;
    }

    static (MixtureReport Report, List<JsonElement> Lines) Mix(TempDirectory dir, IReadOnlyList<MixtureSource> sources, MixtureOptions options, string output = "mix.jsonl")
    {
        MixtureReport report;
        using (var writer = new JsonlWriter(dir.File(output)))
        {
            report = DataMixer.Mix(sources, writer, options);
            writer.Commit();
        }
        Stream file = File.OpenRead(dir.File(output));
        using var reader = new StreamReader(output.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file);
        var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        return (report, lines);
    }

    static string Source(JsonElement line) => line.GetProperty("source").GetString()!;
    static string Text(JsonElement line) => line.GetProperty("text").GetString()!;
    static string Id(JsonElement line) => line.GetProperty("id").GetString()!;

    static MixtureSource[] ThreeSources(TempDirectory dir) =>
    [
        new("web", WriteSource(dir, "web", 400, 5, 80), 5),
        new("books", WriteSource(dir, "books", 150, 40, 200), 3),
        new("code", WriteSource(dir, "code", 300, 2, 30), 2),
    ];

    [Fact]
    public void Three_sources_by_bytes_meet_their_proportions_and_the_report_matches_the_output()
    {
        using var dir = new TempDirectory();
        var (report, lines) = Mix(dir, ThreeSources(dir), new MixtureOptions { Seed = 3 });

        Assert.Equal("bytes", report.Unit);
        Assert.Equal(lines.Count, report.DocumentsWritten);
        foreach (var s in report.Sources)
        {
            Assert.InRange(s.AchievedProportion, s.TargetProportion - 0.01, s.TargetProportion + 0.01);
            var written = lines.Where(l => Source(l) == s.Name).ToList();
            Assert.Equal(s.DocumentsWritten, written.Count);
            Assert.Equal(s.UnitsWritten, written.Sum(l => Encoding.UTF8.GetByteCount(Text(l))));
            Assert.True(s.Epochs <= 1, $"{s.Name} was repeated without up-sampling");
        }
        Assert.Equal(report.UnitsWritten, report.Sources.Sum(s => s.UnitsWritten));
        Assert.InRange(report.UnitsWritten, report.TargetUnits * 0.99, report.TargetUnits * 1.01);
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public void A_token_counter_sets_the_proportions_instead_of_bytes()
    {
        using var dir = new TempDirectory();
        // Same word counts, but "long" words are eight times the bytes: equal token shares, unequal byte shares.
        var sources = new MixtureSource[]
        {
            new("short", WriteSource(dir, "short", 300, 10, 60, word: "a"), 1),
            new("long", WriteSource(dir, "long", 300, 10, 60, word: "abcdefghijklmnop"), 1),
        };
        static int Words(string text) => text.Split(' ').Length;
        var (report, lines) = Mix(dir, sources, new MixtureOptions { Unit = MixtureUnit.Tokens, TokenCounter = Words });

        Assert.Equal("tokens", report.Unit);
        foreach (var s in report.Sources)
        {
            Assert.InRange(s.AchievedProportion, 0.49, 0.51);
            Assert.Equal(s.UnitsWritten, lines.Where(l => Source(l) == s.Name).Sum(l => Words(Text(l))));
        }
        double shortBytes = lines.Where(l => Source(l) == "short").Sum(l => Text(l).Length);
        Assert.True(shortBytes / lines.Sum(l => Text(l).Length) < 0.25, "byte shares should be far from the token shares");
    }

    [Fact]
    public void Upsampling_repeats_a_small_source_with_unique_ids_and_reports_its_epochs()
    {
        using var dir = new TempDirectory();
        var sources = new MixtureSource[]
        {
            new("big", WriteSource(dir, "big", 300, 20, 60), 1),
            new("small", WriteSource(dir, "small", 20, 20, 60), 1),
        };
        long bigBytes = File.ReadLines(sources[0].Path).Sum(l => (long)Encoding.UTF8.GetByteCount(JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!));
        var (report, lines) = Mix(dir, sources, new MixtureOptions { TotalUnits = bigBytes, AllowUpsampling = true });

        var small = report.Sources.Single(s => s.Name == "small");
        Assert.InRange(small.Epochs, 5, 10); // half of 15× its size: ≈ 7.5
        Assert.Equal((long)Math.Ceiling(small.Epochs), small.Passes);
        Assert.InRange(small.AchievedProportion, 0.49, 0.51);
        Assert.Equal((double)small.UnitsWritten / small.UnitsAvailable, small.Epochs, 9);

        var ids = lines.Select(Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var smallIds = lines.Where(l => Source(l) == "small").Select(Id).ToList();
        Assert.Equal(20, smallIds.Count(id => !id.Contains('#'))); // the first pass is whole
        Assert.Equal(20, smallIds.Count(id => id.EndsWith("#r2", StringComparison.Ordinal)));
        Assert.Contains(smallIds, id => id.EndsWith($"#r{small.Passes}", StringComparison.Ordinal));
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public void Without_upsampling_the_scarcest_source_caps_the_mixture_or_falls_short_of_a_total()
    {
        using var dir = new TempDirectory();
        var sources = new MixtureSource[]
        {
            new("big", WriteSource(dir, "big", 300, 20, 60), 1),
            new("small", WriteSource(dir, "small", 20, 20, 60), 1),
        };
        var (capped, lines) = Mix(dir, sources, new MixtureOptions());
        var small = capped.Sources.Single(s => s.Name == "small");
        Assert.Equal("small", capped.LimitedBy);
        Assert.Equal(20, small.DocumentsWritten);
        Assert.Equal(1.0, small.Epochs);
        Assert.InRange(capped.UnitsWritten, 2 * small.UnitsAvailable * 0.98, 2 * small.UnitsAvailable * 1.02);
        Assert.DoesNotContain(lines, l => Id(l).Contains('#'));
        Assert.Empty(capped.Warnings);

        var (shortfall, _) = Mix(dir, sources, new MixtureOptions { TotalUnits = 8 * small.UnitsAvailable }, "short.jsonl");
        var smallShort = shortfall.Sources.Single(s => s.Name == "small");
        Assert.Null(shortfall.LimitedBy);
        Assert.Equal(1.0, smallShort.Epochs);
        Assert.InRange(smallShort.AchievedProportion, 0.19, 0.21); // all it has (1 part) beside big's 4
        Assert.Contains(shortfall.Warnings, w => w.Contains("'small'") && w.Contains("50.0%"));
    }

    [Fact]
    public void The_same_seed_repeats_the_bytes_and_another_seed_selects_differently()
    {
        using var dir = new TempDirectory();
        var sources = ThreeSources(dir);
        Mix(dir, sources, new MixtureOptions { Seed = 11 }, "a.jsonl.gz");
        Mix(dir, sources, new MixtureOptions { Seed = 11 }, "b.jsonl.gz");
        var (_, other) = Mix(dir, sources, new MixtureOptions { Seed = 12 }, "c.jsonl");
        var (_, first) = Mix(dir, sources, new MixtureOptions { Seed = 11 }, "d.jsonl");

        Assert.Equal(File.ReadAllBytes(dir.File("a.jsonl.gz")), File.ReadAllBytes(dir.File("b.jsonl.gz")));
        var firstWeb = first.Where(l => Source(l) == "web").Select(Id).ToHashSet();
        var otherWeb = other.Where(l => Source(l) == "web").Select(Id).ToHashSet();
        Assert.False(firstWeb.SetEquals(otherWeb), "another seed should keep other documents of a down-sampled source");
        Assert.NotEqual(first.Take(30).Select(Source), other.Take(30).Select(Source));
    }

    [Fact]
    public void Shuffling_interleaves_the_sources_and_turning_it_off_concatenates_them()
    {
        using var dir = new TempDirectory();
        var sources = ThreeSources(dir);
        var (_, shuffled) = Mix(dir, sources, new MixtureOptions(), "shuffled.jsonl");
        var (_, ordered) = Mix(dir, sources, new MixtureOptions { Shuffle = false }, "ordered.jsonl");

        static int Runs(List<JsonElement> lines) => 1 + lines.Zip(lines.Skip(1)).Count(p => Source(p.First) != Source(p.Second));
        Assert.Equal(3, Runs(ordered));
        Assert.Equal(new[] { "web", "books", "code" }, ordered.Select(Source).Distinct());
        Assert.True(Runs(shuffled) > shuffled.Count / 4, "sources should alternate throughout the output");
        Assert.Equal(ordered.Select(Id).Order(StringComparer.Ordinal), shuffled.Select(Id).Order(StringComparer.Ordinal));
        // Within a source, documents keep their file order.
        var web = shuffled.Where(l => Source(l) == "web").Select(l => int.Parse(Id(l)["web-".Length..])).ToList();
        Assert.Equal(web.Order(), web);
    }

    [Fact]
    public void Documents_keep_their_id_and_metadata_and_gain_their_source_name()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tagged.jsonl"), "{\"id\": \"t1\", \"text\": \"hello there\", \"source\": \"crawl-7\", \"score\": 0.5}\n");
        var sources = new MixtureSource[] { new("web \"quoted\" é", dir.File("tagged.jsonl"), 1) };
        var (report, lines) = Mix(dir, sources, new MixtureOptions());

        var line = Assert.Single(lines);
        Assert.Equal("t1", Id(line));
        Assert.Equal("hello there", Text(line));
        Assert.Equal(0.5, line.GetProperty("score").GetDouble());
        Assert.Equal("web \"quoted\" é", Source(line)); // replaces the input's own "source", JSON-quoted
        Assert.Single(line.EnumerateObject(), p => p.Name == "source");

        string json = JsonSerializer.Serialize(report, Json.Options);
        foreach (string key in new[] { "\"documents_available\"", "\"units_written\"", "\"target_proportion\"", "\"achieved_proportion\"", "\"epochs\"", "\"limited_by\"" })
            Assert.Contains(key, json);
    }

    [Fact]
    public void Bad_weights_names_and_source_syntax_are_rejected()
    {
        using var dir = new TempDirectory();
        string path = WriteSource(dir, "web", 10, 5, 10);
        foreach (string spec in new[] { "web=x.jsonl:0", "web=x.jsonl:-2", "web=x.jsonl:NaN", "web=x.jsonl:lots", "web=x.jsonl", "=x.jsonl:1", "web:1", "web=:1" })
            Assert.Throws<InvalidInputException>(() => MixtureSource.Parse(spec));

        using var writer = new JsonlWriter(dir.File("out.jsonl"));
        Assert.Throws<InvalidInputException>(() => DataMixer.Mix([new MixtureSource("web", path, 0)], writer));
        Assert.Throws<InvalidInputException>(() => DataMixer.Mix([new MixtureSource("web", path, double.PositiveInfinity)], writer));
        Assert.Throws<InvalidInputException>(() => DataMixer.Mix([new MixtureSource("web", path, 1), new MixtureSource("web", path, 2)], writer));
        Assert.Throws<InvalidInputException>(() => DataMixer.Mix([new MixtureSource("web", path, 1)], writer, new MixtureOptions { TotalUnits = 0 }));
        Assert.Throws<InvalidInputException>(() => DataMixer.Mix([new MixtureSource("web", dir.File("missing.jsonl"), 1)], writer));
    }

    [Fact]
    public void The_weight_follows_the_last_colon_so_paths_may_hold_colons()
    {
        var source = MixtureSource.Parse("web=/data/2024-01-01T10:00/web=1.jsonl:2.5");
        Assert.Equal(new MixtureSource("web", "/data/2024-01-01T10:00/web=1.jsonl", 2.5), source);
    }
}
