using SharpLM.Utilization.Retrieval;

namespace SharpLM.Tests.Utilization;

public class Bm25IndexTests
{
    static readonly (string, string)[] Pets =
    [
        ("pets/cat.txt", "The cat sat on the mat"),
        ("pets/dog.txt", "the dog SAT"),
        ("pets/other.txt", "cats and dogs"),
    ];

    [Fact]
    public void Terms_are_lowercased_runs_of_letters_and_digits()
    {
        Assert.Equal(["hello", "world", "42x", "état", "s"], Bm25Index.Terms("Hello, World! 42x — État's"));
        Assert.Empty(Bm25Index.Terms(" ,.;- "));
    }

    [Fact]
    public void Scores_equal_lucenes_bm25_formula_worked_by_hand()
    {
        var index = Bm25Index.Build(Pets);
        // N = 3 chunks of 6, 3 and 3 terms (average 4); "cat" is in 1 chunk, "sat" in 2. k1 = 1.2, b = 0.75.
        double idfCat = Math.Log(1 + (3 - 1 + 0.5) / (1 + 0.5)), idfSat = Math.Log(1 + (3 - 2 + 0.5) / (2 + 0.5));
        Assert.Equal(idfCat, index.Idf("cat"), 12);
        Assert.Equal(idfSat, index.Idf("sat"), 12);
        double Weight(double idf, int tf, int length) => idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / 4.0));
        Assert.Equal(Weight(idfCat, 1, 6) + Weight(idfSat, 1, 6), index.Score("cat sat", 0), 12);
        Assert.Equal(Weight(idfSat, 1, 3), index.Score("cat sat", 1), 12);
        Assert.Equal(0, index.Score("cat sat", 2));
        // "the" occurs twice in the first chunk: tf = 2 saturates rather than doubling.
        Assert.Equal(Weight(index.Idf("the"), 2, 6), index.Score("the", 0), 12);
        // A term repeated in the query counts each time, as Lucene's query terms do.
        Assert.Equal(2 * index.Score("cat", 0), index.Score("cat cat", 0), 12);
    }

    [Fact]
    public void Search_ranks_best_first_keeps_document_order_on_ties_and_skips_chunks_without_a_query_term()
    {
        var index = Bm25Index.Build(Pets);
        var hits = index.Search("cat sat", 5);
        Assert.Equal(["pets/cat.txt#0", "pets/dog.txt#0"], hits.Select(h => h.Chunk.Citation));
        Assert.True(hits[0].Score > hits[1].Score);
        Assert.Single(index.Search("cat sat", 1));
        Assert.Empty(index.Search("zebra", 3));
        var tied = Bm25Index.Build([("a", "red fish"), ("b", "red fish"), ("c", "blue fish")]).Search("red", 3);
        Assert.Equal(["a", "b"], tied.Select(h => h.Chunk.Document));
        Assert.Equal(tied[0].Score, tied[1].Score);
    }

    [Fact]
    public void Chunks_are_overlapping_word_windows_that_keep_the_original_text_and_its_offset()
    {
        const string text = "w0 w1  w2\nw3 w4 w5 w6 w7 w8 w9";
        var index = Bm25Index.Build([("doc", text)], new Bm25Options { ChunkWords = 4, OverlapWords = 1 });
        Assert.Equal(["w0 w1  w2\nw3", "w3 w4 w5 w6", "w6 w7 w8 w9"], index.Chunks.Select(c => c.Text));
        Assert.All(index.Chunks, c => Assert.Equal(c.Text, text.Substring(c.Start, c.Text.Length)));
        Assert.Equal([0, 1, 2], index.Chunks.Select(c => c.Index));
        // With any overlap, every two neighbouring words share a chunk: a fact cut at a boundary is whole somewhere.
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i + 1 < words.Length; i++)
            Assert.Contains(index.Chunks, c => c.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Contains(words[i]) && c.Text.Contains(words[i + 1]));
        Assert.Single(Bm25Index.Build([("short", "only three words")]).Chunks);
        Assert.Empty(Bm25Index.Build([("blank", "  \n ")]).Chunks);
    }

    [Fact]
    public void A_saved_index_loads_with_the_same_chunks_and_scores()
    {
        using var dir = new TempDirectory();
        var index = Bm25Index.Build(Pets, new Bm25Options { ChunkWords = 3, OverlapWords = 1, K1 = 1.5, B = 0.5 });
        string path = dir.File("index.json");
        index.Save(path);
        var loaded = Bm25Index.Load(path);
        Assert.Equal(index.Chunks, loaded.Chunks);
        Assert.Equal(index.Options, loaded.Options);
        for (int i = 0; i < index.Chunks.Count; i++) Assert.Equal(index.Score("the cat sat", i), loaded.Score("the cat sat", i));
    }

    [Fact]
    public void Bad_index_files_and_options_get_one_line_errors_naming_them()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.json");
        File.WriteAllText(path, "{ not json");
        var e = Assert.Throws<InvalidInputException>(() => Bm25Index.Load(path));
        Assert.StartsWith(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        File.WriteAllText(path, """{"format_version": 9, "options": {}, "chunks": []}""");
        Assert.Contains("format_version 9, expected 1", Assert.Throws<InvalidInputException>(() => Bm25Index.Load(path)).Message);
        File.WriteAllText(path, """{"format_version": 1, "options": {}, "chunks": [{"document": "a", "index": 0, "start": 0, "text": "x"}, null]}""");
        Assert.Equal($"{path}: chunks[1]: needs a document and a text", Assert.Throws<InvalidInputException>(() => Bm25Index.Load(path)).Message);
        Assert.Contains("not found", Assert.Throws<InvalidInputException>(() => Bm25Index.Load(dir.File("missing.json"))).Message);
        Assert.Contains("overlap_words", Assert.Throws<InvalidInputException>(() => Bm25Index.Build(Pets, new Bm25Options { ChunkWords = 5, OverlapWords = 5 })).Message);
        Assert.Contains("two documents with this name", Assert.Throws<InvalidInputException>(() => Bm25Index.Build([("a", "x"), ("a", "y")])).Message);
    }

    [Fact]
    public void A_folder_is_indexed_by_relative_name_in_ordinal_order_txt_and_md_only()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("docs/sub"));
        File.WriteAllText(dir.File("docs/b.txt"), "beta");
        File.WriteAllText(dir.File("docs/sub/a.md"), "alpha");
        File.WriteAllText(dir.File("docs/A.txt"), "upper");
        File.WriteAllText(dir.File("docs/skip.json"), "{}");
        var index = Bm25Index.BuildFromFolder(dir.File("docs"));
        Assert.Equal(["A.txt", "b.txt", "sub/a.md"], index.Chunks.Select(c => c.Document));
        Directory.CreateDirectory(dir.File("empty"));
        Assert.Contains("no .txt or .md files", Assert.Throws<InvalidInputException>(() => Bm25Index.BuildFromFolder(dir.File("empty"))).Message);
    }
}
