using System.IO.Compression;
using System.Text;
using SharpLM.Data;
using SharpLM.Data.Ingestion;

namespace SharpLM.Tests.Data.Ingestion;

public class CorpusReaderTests
{
    static (List<Document> Docs, List<BadRecord> Bad) ReadAll(string input, CorpusOptions? options = null)
    {
        var bad = new List<BadRecord>();
        var docs = new CorpusReader(options).Read(input, bad.Add).ToList();
        return (docs, bad);
    }

    static void WriteGzip(string path, string content)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(content));
    }

    [Fact]
    public void Jsonl_uses_the_chosen_fields_keeps_metadata_and_falls_back_to_file_line_ids()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("a.jsonl"), "{\"doc_id\": \"x1\", \"body\": \"first\", \"url\": \"https://e.com\"}\n\n{\"body\": \"second 第二\"}\n");
        var (docs, bad) = ReadAll(dir.File("a.jsonl"), new CorpusOptions { TextField = "body", IdField = "doc_id" });
        Assert.Empty(bad);
        Assert.Equal(new[] { "x1", $"{dir.File("a.jsonl")}:3" }, docs.Select(d => d.Id));
        Assert.Equal("\"https://e.com\"", docs[0].Metadata!["url"]);
        Assert.Equal("second 第二", docs[1].Text);
    }

    [Fact]
    public void Txt_is_one_document_per_file_or_per_paragraph_and_gzip_is_transparent()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("in/sub"));
        File.WriteAllText(dir.File("in/a.txt"), "para one\nstill one\n\npara two\n  \npara three");
        WriteGzip(dir.File("in/sub/b.jsonl.gz"), "{\"text\": \"zipped\"}\n");
        var (whole, _) = ReadAll(dir.File("in"));
        Assert.Equal(new[] { "para one\nstill one\n\npara two\n  \npara three", "zipped" }, whole.Select(d => d.Text));
        var (paragraphs, _) = ReadAll(dir.File("in/a.txt"), new CorpusOptions { TxtParagraphs = true });
        Assert.Equal(new[] { "para one\nstill one", "para two", "para three" }, paragraphs.Select(d => d.Text));
        var (globbed, _) = ReadAll(Path.Combine(dir.Path, "in", "**", "*.jsonl.gz"));
        Assert.Equal("zipped", Assert.Single(globbed).Text);
    }

    [Fact]
    public void Bad_records_are_reported_with_location_and_the_rest_is_read()
    {
        using var dir = new TempDirectory();
        var lines = new List<byte[]>
        {
            Encoding.UTF8.GetBytes("{\"text\": \"good one\"}"),
            Encoding.UTF8.GetBytes("{not json"),
            Encoding.UTF8.GetBytes("{\"other\": 1}"),
            Encoding.UTF8.GetBytes("{\"text\": 42}"),
            Encoding.UTF8.GetBytes("{\"text\": \"   \"}"),
            new byte[] { (byte)'{', (byte)'"', (byte)'t', (byte)'e', (byte)'x', (byte)'t', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}' },
            Encoding.UTF8.GetBytes("[1, 2]"),
            Encoding.UTF8.GetBytes("{\"text\": \"" + new string('x', 300) + "\"}"),
            Encoding.UTF8.GetBytes("{\"text\": \"good two\"}"),
        };
        File.WriteAllBytes(dir.File("mixed.jsonl"), lines.SelectMany(l => l.Append((byte)'\n')).ToArray());
        File.WriteAllBytes(dir.File("binary.txt"), new byte[] { 1, 2, 0, 3 });
        File.WriteAllBytes(dir.File("latin1.txt"), new byte[] { (byte)'c', (byte)'a', (byte)'f', 0xE9 });
        File.WriteAllText(dir.File("empty.txt"), " \n");
        File.WriteAllBytes(dir.File("broken.jsonl.gz"), new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07, 0xff, 0xff }); // a reserved deflate block type

        var (docs, bad) = ReadAll(dir.Path, new CorpusOptions { MaxDocumentBytes = 200 });
        Assert.Equal(new[] { "good one", "good two" }, docs.Select(d => d.Text));
        string Problem(string location) => Assert.Single(bad, b => b.Location == location).Problem;
        string m = dir.File("mixed.jsonl");
        Assert.StartsWith("malformed JSON", Problem($"{m}:2"));
        Assert.Equal("field 'text' missing", Problem($"{m}:3"));
        Assert.Contains("not a string", Problem($"{m}:4"));
        Assert.Equal("empty document", Problem($"{m}:5"));
        Assert.Equal("invalid UTF-8", Problem($"{m}:6"));
        Assert.Equal("not a JSON object", Problem($"{m}:7"));
        Assert.Contains("larger than", Problem($"{m}:8"));
        Assert.Equal("binary file (NUL bytes)", Problem(dir.File("binary.txt")));
        Assert.Equal("invalid UTF-8", Problem(dir.File("latin1.txt")));
        Assert.Equal("empty document", Problem(dir.File("empty.txt")));
        Assert.StartsWith("corrupt gzip", Problem(dir.File("broken.jsonl.gz")));
    }

    [Fact]
    public void Records_longer_than_the_read_buffer_are_read_whole_and_oversized_ones_skipped_to_the_next_line()
    {
        using var dir = new TempDirectory();
        string big = new string('x', 3_000_000) + " end"; // spans several 1 MB reads
        File.WriteAllLines(dir.File("a.jsonl"), ["{\"text\":\"first\"}", $"{{\"text\":\"{big}\"}}", "{\"text\":\"third\"}"]);
        var (docs, bad) = ReadAll(dir.File("a.jsonl"));
        Assert.Equal(["first", big, "third"], docs.Select(d => d.Text));
        Assert.Empty(bad);
        (docs, bad) = ReadAll(dir.File("a.jsonl"), new CorpusOptions { MaxDocumentBytes = 1_500_000 });
        Assert.Equal(["first", "third"], docs.Select(d => d.Text));
        Assert.Equal($"{dir.File("a.jsonl")}:3", docs[1].Id);
        Assert.Equal($"{dir.File("a.jsonl")}:2", Assert.Single(bad).Location);
    }

    [Fact]
    public void An_oversized_paragraph_is_a_bad_record_and_the_others_are_read()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("p.txt"), "short one\n\n" + new string('x', 500) + "\n\nshort two\n");
        var (docs, bad) = ReadAll(dir.File("p.txt"), new CorpusOptions { TxtParagraphs = true, MaxDocumentBytes = 100 });
        Assert.Equal(["short one", "short two"], docs.Select(d => d.Text));
        Assert.Equal($"{dir.File("p.txt")}#2", Assert.Single(bad).Location);
    }

    [Fact]
    public void Missing_input_is_a_one_line_error()
    {
        Assert.Contains("input not found", Assert.Throws<InvalidInputException>(() => CorpusReader.Files("/nonexistent/x.jsonl")).Message);
    }
}
