using SharpLM.Data;
using SharpLM.Data.Cleaning;
using SharpLM.Data.Dedup;
using SharpLM.Data.Ingestion;

namespace SharpLM.Tests.Data.Cleaning;

public class CleaningConfigTests
{
    const string Yaml = """
        # paths are relative to this file
        input: in.jsonl
        output: out/clean.jsonl
        threads: 2
        filters:
          - language: { allowed: [en, zh], min_confidence: 0.4 }
          - gopher_quality: { min_words: 20 }
          - gopher_repetition
          - keywords: { terms: [casino] }
        dedup:
          exact: true
          minhash: { threshold: 0.7, shingle_size: 3 }
          lines: { unit: paragraph }
        pii: { email: true, phone: false }
        """;

    const string Json = """
        {
          "input": "in.jsonl", "output": "out/clean.jsonl", "threads": 2,
          "filters": [
            { "language": { "allowed": ["en", "zh"], "min_confidence": 0.4 } },
            { "gopher_quality": { "min_words": 20 } },
            "gopher_repetition",
            { "keywords": { "terms": ["casino"] } }
          ],
          "dedup": { "exact": true, "minhash": { "threshold": 0.7, "shingle_size": 3 }, "lines": { "unit": "paragraph" } },
          "pii": { "email": true, "phone": false }
        }
        """;

    [Fact]
    public void Yaml_and_json_describe_the_same_pipeline()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("p.yaml"), Yaml);
        File.WriteAllText(dir.File("p.json"), Json);
        var yaml = CleaningConfig.Load(dir.File("p.yaml"));
        var json = CleaningConfig.Load(dir.File("p.json"));
        foreach (var c in new[] { yaml, json })
        {
            Assert.Equal(Path.Combine(dir.Path, "in.jsonl"), c.Input);
            Assert.Equal(Path.Combine(dir.Path, "out/clean.jsonl"), c.Output);
            Assert.Equal(["language", "gopher_quality", "gopher_repetition", "keywords"], c.Pipeline.Filters.Select(f => f.Name));
            Assert.Equal(2, c.Pipeline.Threads);
            Assert.Equal(0.7, c.Pipeline.MinHash!.Threshold);
            Assert.Equal(3, c.Pipeline.MinHash.ShingleSize);
            Assert.Equal(LineDedupUnit.Paragraph, c.Pipeline.LineDedup!.Unit);
            Assert.False(c.Pipeline.Pii!.Phone);
            Assert.True(c.Pipeline.Pii.Email);
        }
        // The filters carry their options: 30 words passes min_words 20 (the default 50 would reject it).
        string thirty = string.Join(' ', Enumerable.Repeat("the cat and the dog", 6));
        Assert.Null(yaml.Pipeline.Filters[1].Apply(new Document("d", thirty)).Reason);
        Assert.NotNull(yaml.Pipeline.Filters[3].Apply(new Document("d", "Play casino games")).Reason);
    }

    [Fact]
    public void An_input_given_on_the_command_line_replaces_the_files_before_stages_use_it()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("p.yaml"), Yaml);
        Assert.Equal(dir.File("other.jsonl"), CleaningConfig.Load(dir.File("p.yaml"), dir.File("other.jsonl")).Input);
    }

    [Fact]
    public void Stages_can_be_turned_off_and_defaults_apply_when_absent()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("off.yaml"), "dedup: false\npii: false\n");
        var off = CleaningConfig.Load(dir.File("off.yaml"));
        Assert.False(off.Pipeline.ExactDedup);
        Assert.Null(off.Pipeline.MinHash);
        Assert.Null(off.Pipeline.Pii);
        Assert.Empty(off.Pipeline.Filters);
        File.WriteAllText(dir.File("empty.json"), "{}");
        var defaults = CleaningConfig.Load(dir.File("empty.json"));
        Assert.True(defaults.Pipeline.ExactDedup);
        Assert.NotNull(defaults.Pipeline.MinHash);
        Assert.NotNull(defaults.Pipeline.Pii);
        Assert.Null(defaults.Pipeline.LineDedup);
    }

    [Theory]
    [InlineData("p.yaml", "filters:\n  - gophr_quality: {}\n", "filters[0].gophr_quality: unknown filter")]
    [InlineData("p.yaml", "filters:\n  - gopher_quality: { min_wrds: 3 }\n", "filters[0].gopher_quality: The JSON property 'min_wrds'")]
    [InlineData("p.yaml", "thraeds: 2\n", "unknown field 'thraeds'")]
    [InlineData("p.yaml", "dedup: { minhash: { threshold: high } }\n", "dedup.minhash")]
    [InlineData("p.yaml", "filters: [language]\n", "filters[0].language.allowed")]
    [InlineData("p.yaml", "input: [unclosed\n", "not valid YAML")]
    [InlineData("p.json", "{\"input\": ", "not valid JSON")]
    [InlineData("p.toml", "input = 1", "unknown pipeline format '.toml'")]
    public void Mistakes_are_one_line_errors_naming_the_file_and_field(string name, string content, string expected)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File(name), content);
        var e = Assert.Throws<InvalidInputException>(() => CleaningConfig.Load(dir.File(name)));
        Assert.StartsWith(dir.File(name), e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Yaml_quoted_scalars_stay_strings_and_plain_ones_are_typed()
    {
        var json = SharpLM.Runtime.YamlAsJson.Parse("a: 1\nb: '1'\nc: true\nd: ~\ne: 0.5\nf: text\ng: [1, x]\n");
        Assert.Equal(System.Text.Json.JsonValueKind.Number, json.GetProperty("a").ValueKind);
        Assert.Equal("1", json.GetProperty("b").GetString());
        Assert.True(json.GetProperty("c").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("d").ValueKind);
        Assert.Equal(0.5, json.GetProperty("e").GetDouble());
        Assert.Equal("text", json.GetProperty("f").GetString());
        Assert.Equal(2, json.GetProperty("g").GetArrayLength());
    }
}
