using Parquet;
using Parquet.Schema;
using SharpLM.Data;
using SharpLM.Data.Ingestion;

namespace SharpLM.Tests.Data.Ingestion;

public class ParquetReaderTests
{
    sealed record Row(string? Text, string? Id = null, string Url = "https://example.com/", int TokenCount = 3, double LanguageScore = 0.5);

    static (List<Document> Docs, List<BadRecord> Bad) ReadAll(string input, CorpusOptions? options = null)
    {
        var bad = new List<BadRecord>();
        var docs = new CorpusReader(options).Read(input, bad.Add).ToList();
        return (docs, bad);
    }

    /// <summary>A FineWeb-like file, one row group per array of rows; the id column only when asked for.</summary>
    static async Task WriteFineWeb(string path, bool withId, params Row[][] rowGroups)
    {
        DataField text = new DataField<string>("text"), id = new DataField<string>("id"), url = new DataField<string>("url");
        DataField dump = new DataField<string>("dump"), tokenCount = new DataField<int>("token_count"), score = new DataField<double>("language_score");
        var schema = new ParquetSchema(withId ? [text, id, url, dump, tokenCount, score] : [text, url, dump, tokenCount, score]);
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, file);
        foreach (var rows in rowGroups)
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(text, rows.Select(r => r.Text).ToArray()!);
            if (withId) await group.WriteAsync(id, rows.Select(r => r.Id).ToArray()!);
            await group.WriteAsync(url, rows.Select(r => r.Url).ToArray());
            await group.WriteAsync(dump, rows.Select(_ => "CC-MAIN-2024-10").ToArray());
            await group.WriteAsync<int>(tokenCount, rows.Select(r => r.TokenCount).ToArray());
            await group.WriteAsync<double>(score, rows.Select(r => r.LanguageScore).ToArray());
        }
    }

    [Fact]
    public async Task FineWeb_rows_become_documents_with_their_id_and_the_other_columns_as_jsonl_metadata()
    {
        using var dir = new TempDirectory();
        await WriteFineWeb(dir.File("a.parquet"), withId: true, [
            new Row("first document", "<urn:uuid:1>", "https://e.com/a?x=1&y=2", 42, 0.953125),
            new Row("second 第二 \"quoted\"", "<urn:uuid:2>", "https://e.com/é", 7, 1e-7),
        ]);
        var (docs, bad) = ReadAll(dir.File("a.parquet"));
        Assert.Empty(bad);
        Assert.Equal(new[] { "<urn:uuid:1>", "<urn:uuid:2>" }, docs.Select(d => d.Id));
        Assert.Equal(new[] { "first document", "second 第二 \"quoted\"" }, docs.Select(d => d.Text));
        var metadata = docs[0].Metadata!;
        Assert.Equal(new[] { "url", "dump", "token_count", "language_score" }, metadata.Keys);
        Assert.Equal("\"https://e.com/a?x=1&y=2\"", metadata["url"]);
        Assert.Equal("\"CC-MAIN-2024-10\"", metadata["dump"]);
        Assert.Equal("42", metadata["token_count"]);
        Assert.Equal("0.953125", metadata["language_score"]);
        Assert.Equal("\"https://e.com/é\"", docs[1].Metadata!["url"]);

        // Written out and read back as .jsonl, the documents are unchanged.
        using (var writer = new JsonlWriter(dir.File("out/a.jsonl")))
        {
            foreach (var d in docs) writer.Write(d);
            writer.Commit();
        }
        var (again, badAgain) = ReadAll(dir.File("out/a.jsonl"));
        Assert.Empty(badAgain);
        Assert.Equal(docs.Select(d => (d.Id, d.Text)), again.Select(d => (d.Id, d.Text)));
        for (int i = 0; i < docs.Count; i++) Assert.Equal(docs[i].Metadata!, again[i].Metadata!);
    }

    [Fact]
    public async Task Without_an_id_column_or_with_a_null_id_the_id_is_file_and_row()
    {
        using var dir = new TempDirectory();
        await WriteFineWeb(dir.File("no-id.parquet"), withId: false, [new Row("one"), new Row("two")]);
        await WriteFineWeb(dir.File("null-id.parquet"), withId: true, [new Row("one", "x"), new Row("two", null)]);
        var (noId, _) = ReadAll(dir.File("no-id.parquet"));
        Assert.Equal(new[] { $"{dir.File("no-id.parquet")}:1", $"{dir.File("no-id.parquet")}:2" }, noId.Select(d => d.Id));
        Assert.DoesNotContain("id", noId[0].Metadata!.Keys);
        var (nullId, _) = ReadAll(dir.File("null-id.parquet"));
        Assert.Equal(new[] { "x", $"{dir.File("null-id.parquet")}:2" }, nullId.Select(d => d.Id));
    }

    [Fact]
    public async Task Bad_rows_are_reported_with_file_and_row_and_the_rest_is_read()
    {
        using var dir = new TempDirectory();
        string file = dir.File("rows.parquet");
        await WriteFineWeb(file, withId: true, [
            new Row("good one", "a"), new Row(null, "b"), new Row("  \n", "c"), new Row(new string('x', 300), "d"), new Row("good two", "e"),
        ]);
        var (docs, bad) = ReadAll(file, new CorpusOptions { MaxDocumentBytes = 200 });
        Assert.Equal(new[] { "a", "e" }, docs.Select(d => d.Id));
        Assert.Equal(new[]
        {
            new BadRecord($"{file}:2", "column 'text' is null"),
            new BadRecord($"{file}:3", "empty document"),
            new BadRecord($"{file}:4", "document larger than 200 bytes"),
        }, bad);
    }

    [Fact]
    public async Task Unreadable_files_are_one_bad_record_each_and_a_directory_includes_parquet()
    {
        using var dir = new TempDirectory();
        await WriteFineWeb(dir.File("good.parquet"), withId: true, [new Row("kept", "k")]);
        File.WriteAllText(dir.File("x.parquet"), "this is not a parquet file, just text");
        File.WriteAllBytes(dir.File("empty.parquet"), []);
        File.WriteAllBytes(dir.File("zipped.parquet.gz"), File.ReadAllBytes(dir.File("good.parquet")));
        var body = new DataField<string>("body");
        await using (var stream = File.Create(dir.File("no-text.parquet")))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(body), stream))
        using (var group = writer.CreateRowGroup())
            await group.WriteAsync(body, new[] { "text under another name" });
        var number = new DataField<int>("text");
        await using (var stream = File.Create(dir.File("int-text.parquet")))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(number), stream))
        using (var group = writer.CreateRowGroup())
            await group.WriteAsync<int>(number, new[] { 1 });

        Assert.Contains(dir.File("good.parquet"), CorpusReader.Files(dir.Path));
        var (docs, bad) = ReadAll(dir.Path);
        Assert.Equal("kept", Assert.Single(docs).Text);
        string Problem(string name) => Assert.Single(bad, b => b.Location == dir.File(name)).Problem;
        Assert.StartsWith("not a readable Parquet file", Problem("x.parquet"));
        Assert.StartsWith("not a readable Parquet file", Problem("empty.parquet"));
        Assert.StartsWith("gzip-compressed Parquet is not supported", Problem("zipped.parquet.gz"));
        Assert.Equal("column 'text' missing", Problem("no-text.parquet"));
        Assert.Equal("column 'text' is Int32, not a string", Problem("int-text.parquet"));
        Assert.Equal(5, bad.Count);
    }

    [Fact]
    public async Task Row_groups_stream_in_order_and_a_damaged_one_is_skipped()
    {
        using var dir = new TempDirectory();
        string file = dir.File("groups.parquet");
        Row[] Group(int g) => Enumerable.Range(1, 3).Select(i => new Row($"group {g} row {i}")).ToArray();
        await WriteFineWeb(file, withId: false, Group(1), Group(2), Group(3));

        var (docs, bad) = ReadAll(file);
        Assert.Empty(bad);
        Assert.Equal(Enumerable.Range(1, 3).SelectMany(g => Group(g).Select(r => r.Text)), docs.Select(d => d.Text));
        Assert.Equal(Enumerable.Range(1, 9).Select(row => $"{file}:{row}"), docs.Select(d => d.Id));

        // Overwrite the start of the second row group's text pages: that group is reported, the others are read.
        long offset;
        await using (var reader = await ParquetReader.CreateAsync(file))
        {
            var chunk = reader.OpenRowGroupReader(1).GetMetadata(reader.Schema.DataFields[0])!.MetaData!;
            offset = chunk.DictionaryPageOffset ?? chunk.DataPageOffset;
        }
        await using (var stream = File.OpenWrite(file))
        {
            stream.Position = offset;
            stream.Write(Enumerable.Repeat((byte)0xFF, 16).ToArray());
        }
        bad.Clear();
        using var documents = new CorpusReader().Read(file, bad.Add).GetEnumerator();
        Assert.True(documents.MoveNext());
        Assert.Empty(bad); // the first row group is out before the second is decoded
        var rest = new List<Document>();
        while (documents.MoveNext()) rest.Add(documents.Current);
        Assert.Equal(new[] { "group 1 row 2", "group 1 row 3", "group 3 row 1", "group 3 row 2", "group 3 row 3" }, rest.Select(d => d.Text));
        Assert.Equal($"{file}:7", rest[2].Id);
        var damaged = Assert.Single(bad);
        Assert.Equal(file, damaged.Location);
        Assert.StartsWith("row group 2 (rows 4-6) unreadable (column 'text': ", damaged.Problem);
    }

    [Fact]
    public async Task A_forged_row_count_in_the_footer_is_a_bad_record_not_a_gigabyte_allocation()
    {
        using var dir = new TempDirectory();
        string path = dir.File("forged.parquet");
        await WriteFineWeb(path, withId: true, [new Row("a", "1"), new Row("b", "2"), new Row("c", "3")]);
        byte[] bytes = File.ReadAllBytes(path);
        int footerLength = BitConverter.ToInt32(bytes, bytes.Length - 8), footerStart = bytes.Length - 8 - footerLength;
        // Thrift compact: an i64 field one id after the previous (0x16) holding 3 (zigzag 0x06) is how num_rows (and
        // num_values) of 3 is written; make each claim 10^9 (zigzag 2×10^9 as a varint).
        byte[] billion = [0x80, 0xA8, 0xD6, 0xB9, 0x07];
        var footer = new List<byte>();
        for (int i = footerStart; i < bytes.Length - 8; i++)
        {
            if (bytes[i] == 0x16 && bytes[i + 1] == 0x06) { footer.Add(0x16); footer.AddRange(billion); i++; }
            else footer.Add(bytes[i]);
        }
        var forged = bytes[..footerStart].Concat(footer).Concat(BitConverter.GetBytes(footer.Count)).Concat("PAR1"u8.ToArray()).ToArray();
        File.WriteAllBytes(path, forged);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var (docs, bad) = ReadAll(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Empty(docs);
        var record = Assert.Single(bad);
        Assert.Equal($"row group 1 declares 1,000,000,000 rows, more than a {forged.Length:N0}-byte file can hold; the rest of the file is skipped", record.Problem);
        Assert.True(allocated < 16 << 20, $"allocated {allocated:N0} bytes");
    }
}
