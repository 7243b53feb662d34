using System.IO.Compression;
using System.Text.Json;
using SharpLM.Cli.Commands;

namespace SharpLM.Tests.Cli;

public class DataMixCliTests
{
    static void WriteSource(string path, string name, int documents, int words)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, Enumerable.Range(0, documents).Select(i =>
            JsonSerializer.Serialize(new { id = $"{name}{i}", text = string.Join(' ', Enumerable.Repeat($"{name} text {i}", words)) })));
    }

    [Fact]
    public void Data_mix_writes_the_mixture_and_its_report()
    {
        using var dir = new TempDirectory();
        string web = Path.Combine(dir.Path, "crawl:2024", "web.jsonl"); // a ':' in the path: the weight follows the last one
        WriteSource(web, "web", 200, 10);
        WriteSource(dir.File("books.jsonl"), "books", 10, 10);
        string output = Path.Combine(dir.Path, "out", "mix.jsonl.gz");

        var r = CliProcess.Run("data", "mix", "--source", $"web={web}:3", "--source", $"books={dir.File("books.jsonl")}:1",
            "--total", "40k", "--upsample", "--seed", "5", "--output", output);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("achieved %", r.Stdout);

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "out", "mixture_report.json")));
        var root = report.RootElement;
        Assert.Equal("bytes", root.GetProperty("unit").GetString());
        Assert.Equal(40_000, root.GetProperty("target_units").GetInt64());
        var books = root.GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "books");
        Assert.Equal(0.25, books.GetProperty("target_proportion").GetDouble());
        Assert.InRange(books.GetProperty("achieved_proportion").GetDouble(), 0.24, 0.26);
        Assert.True(books.GetProperty("epochs").GetDouble() > 1, "books should be up-sampled");

        using var reader = new StreamReader(new GZipStream(File.OpenRead(output), CompressionMode.Decompress));
        var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(root.GetProperty("documents_written").GetInt64(), lines.Count);
        Assert.Contains(lines, l => l.GetProperty("id").GetString() == "books3#r2" && l.GetProperty("source").GetString() == "books");
    }

    [Fact]
    public void Data_mix_rejects_bad_sources_with_one_line()
    {
        using var dir = new TempDirectory();
        WriteSource(dir.File("web.jsonl"), "web", 5, 3);
        string output = dir.File("mix.jsonl");
        foreach (var (spec, expected) in new[] { ("web=" + dir.File("nowhere.jsonl") + ":1", "nowhere.jsonl"), ("web=" + dir.File("web.jsonl") + ":0", "weight"), ("web", "NAME=PATH:WEIGHT") })
        {
            var r = CliProcess.Run("data", "mix", "--source", spec, "--output", output);
            Assert.NotEqual(0, r.ExitCode);
            string error = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
            Assert.StartsWith("error: ", error);
            Assert.Contains(expected, error);
            Assert.DoesNotContain("   at ", r.Stderr);
        }
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("2500000", 2_500_000)]
    [InlineData("500k", 500_000)]
    [InlineData("1.5M", 1_500_000)]
    [InlineData("2G", 2_000_000_000)]
    public void Total_sizes_take_decimal_suffixes(string text, long expected) => Assert.Equal(expected, DataMixCommand.ParseSize(text));

    [Theory]
    [InlineData("0")]
    [InlineData("-3k")]
    [InlineData("lots")]
    [InlineData("M")]
    public void Bad_total_sizes_are_rejected(string text) => Assert.Throws<InvalidInputException>(() => DataMixCommand.ParseSize(text));
}
