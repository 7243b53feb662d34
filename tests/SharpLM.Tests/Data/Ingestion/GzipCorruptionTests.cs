using System.IO.Compression;
using System.Text;
using SharpLM.Data;
using SharpLM.Data.Ingestion;

namespace SharpLM.Tests.Data.Ingestion;

public class GzipCorruptionTests
{
    static (List<Document> Docs, List<BadRecord> Bad) ReadAll(string input)
    {
        var bad = new List<BadRecord>();
        var docs = new CorpusReader().Read(input, bad.Add).ToList();
        return (docs, bad);
    }

    static string[] Texts(int count) => Enumerable.Range(1, count).Select(i => $"line {i}: {i * 7919 % 10007} {new string('x', i % 37)}").ToArray();

    static string Jsonl(IEnumerable<string> texts) => string.Concat(texts.Select(t => $"{{\"text\": \"{t}\"}}\n"));

    static byte[] Gzip(string content, CompressionLevel level = CompressionLevel.Optimal)
    {
        var compressed = new MemoryStream();
        using (var gz = new GZipStream(compressed, level, leaveOpen: true)) gz.Write(Encoding.UTF8.GetBytes(content));
        return compressed.ToArray();
    }

    [Fact]
    public void A_truncated_jsonl_gz_keeps_the_whole_lines_before_the_cut_and_says_where_it_broke()
    {
        using var dir = new TempDirectory();
        string file = dir.File("cut.jsonl.gz");
        var texts = Texts(2000);
        byte[] gz = Gzip(Jsonl(texts));
        File.WriteAllBytes(file, gz[..(gz.Length / 2)]);
        var (docs, bad) = ReadAll(file);
        Assert.InRange(docs.Count, 1, texts.Length - 1);
        Assert.Equal(texts.Take(docs.Count), docs.Select(d => d.Text));
        Assert.Equal(new BadRecord(file, $"corrupt gzip stream (truncated or damaged) at line {docs.Count + 1}"), Assert.Single(bad));
    }

    [Theory]
    [InlineData(CompressionLevel.Optimal)]
    [InlineData(CompressionLevel.Fastest)]
    [InlineData(CompressionLevel.NoCompression)]
    public void Every_cut_of_a_gzip_file_is_reported_and_what_came_before_is_intact(CompressionLevel level)
    {
        using var dir = new TempDirectory();
        string file = dir.File("cut.jsonl.gz");
        var texts = Texts(60);
        byte[] gz = Gzip(Jsonl(texts), level);
        for (int cut = 1; cut < gz.Length; cut++) // cut 0, an empty file, is what GZipStream writes for empty content
        {
            File.WriteAllBytes(file, gz[..cut]);
            var (docs, bad) = ReadAll(file);
            Assert.True(bad.Count == 1 && bad[0].Problem.StartsWith("corrupt gzip stream"), $"cut at {cut} of {gz.Length}: {string.Join("; ", bad)}");
            Assert.Equal(texts.Take(docs.Count), docs.Select(d => d.Text));
        }
    }

    [Fact]
    public void Flipped_bytes_in_the_compressed_body_or_the_trailer_are_reported()
    {
        using var dir = new TempDirectory();
        byte[] gz = Gzip(Jsonl(Texts(2000)));
        byte[] body = (byte[])gz.Clone(), trailer = (byte[])gz.Clone();
        for (int i = gz.Length / 2; i < gz.Length / 2 + 8; i++) body[i] ^= 0xFF;
        trailer[^6] ^= 0x01; // the CRC-32
        File.WriteAllBytes(dir.File("body.jsonl.gz"), body);
        File.WriteAllBytes(dir.File("trailer.jsonl.gz"), trailer);
        var (_, bad) = ReadAll(dir.Path);
        Assert.StartsWith("corrupt gzip stream", Assert.Single(bad, b => b.Location == dir.File("body.jsonl.gz")).Problem);
        Assert.StartsWith("corrupt gzip stream", Assert.Single(bad, b => b.Location == dir.File("trailer.jsonl.gz")).Problem);
    }

    [Fact]
    public void Complete_streams_read_in_full_multi_member_included_and_a_truncated_txt_gz_is_one_bad_record()
    {
        using var dir = new TempDirectory();
        var texts = Texts(3000);
        File.WriteAllBytes(dir.File("a.jsonl.gz"), Gzip(Jsonl(texts.Take(1000))).Concat(Gzip(Jsonl(texts.Skip(1000)), CompressionLevel.Fastest)).ToArray());
        File.WriteAllBytes(dir.File("b.txt.gz"), Gzip("a whole document"));
        File.WriteAllBytes(dir.File("c.jsonl.gz"), Gzip("")); // GZipStream writes no bytes at all for empty content
        File.WriteAllBytes(dir.File("d.jsonl.gz"), Convert.FromHexString("1F8B080000000000000303000000000000000000")); // gzip's empty member
        var (docs, bad) = ReadAll(dir.Path);
        Assert.Empty(bad);
        Assert.Equal(texts.Append("a whole document"), docs.Select(d => d.Text));

        byte[] txt = Gzip(string.Join("\n", texts));
        File.WriteAllBytes(dir.File("cut.txt.gz"), txt[..^100]);
        var (cutDocs, cutBad) = ReadAll(dir.File("cut.txt.gz"));
        Assert.Empty(cutDocs);
        Assert.Equal(new BadRecord(dir.File("cut.txt.gz"), "corrupt gzip stream (truncated or damaged)"), Assert.Single(cutBad));
    }

    [Fact]
    public void Bytes_after_the_last_member_are_reported_and_the_documents_kept()
    {
        using var dir = new TempDirectory();
        string file = dir.File("padded.jsonl.gz");
        var texts = Texts(100);
        File.WriteAllBytes(file, Gzip(Jsonl(texts)).Concat(new byte[512]).ToArray());
        var (docs, bad) = ReadAll(file);
        Assert.Equal(texts, docs.Select(d => d.Text));
        Assert.Equal(new BadRecord(file, "corrupt gzip stream (truncated or damaged) at line 101"), Assert.Single(bad));
    }
}
