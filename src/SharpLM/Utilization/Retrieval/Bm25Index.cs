using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpLM.IO;
using SharpLM.Runtime;

namespace SharpLM.Utilization.Retrieval;

/// <summary>A passage of a document: what retrieval returns and a prompt cites.</summary>
/// <param name="Document">The document's name (its path relative to the indexed folder, say).</param>
/// <param name="Index">The chunk's position in its document, from 0.</param>
/// <param name="Start">Offset of the chunk's first character in the document.</param>
/// <param name="Text">The chunk's text.</param>
public sealed record Chunk(string Document, int Index, int Start, string Text)
{
    /// <summary>How a prompt cites it: "document#index".</summary>
    [JsonIgnore]
    public string Citation => $"{Document}#{Index}";
}

/// <summary>A retrieved chunk and its BM25 score.</summary>
public sealed record SearchHit(Chunk Chunk, double Score);

/// <summary>How documents are cut into chunks and how BM25 weighs terms (Lucene's defaults).</summary>
public sealed record Bm25Options
{
    /// <summary>Words per chunk.</summary>
    public int ChunkWords { get; init; } = 120;
    /// <summary>Words a chunk repeats from the end of the one before (so a fact cut at a boundary is whole in one of them).</summary>
    public int OverlapWords { get; init; } = 20;
    /// <summary>BM25's term-frequency saturation k1.</summary>
    public double K1 { get; init; } = 1.2;
    /// <summary>BM25's length normalisation b (0: none, 1: full).</summary>
    public double B { get; init; } = 0.75;

    /// <exception cref="InvalidInputException">A value out of range, naming the field.</exception>
    public void Validate()
    {
        if (ChunkWords < 1) throw new InvalidInputException("bm25 options: chunk_words must be at least 1");
        if (OverlapWords < 0 || OverlapWords >= ChunkWords) throw new InvalidInputException("bm25 options: overlap_words must be in [0, chunk_words)");
        if (!(K1 >= 0) || double.IsInfinity(K1)) throw new InvalidInputException("bm25 options: k1 must be a finite number ≥ 0");
        if (!(B is >= 0 and <= 1)) throw new InvalidInputException("bm25 options: b must be in [0, 1]");
    }
}

/// <summary>
/// Okapi BM25 over chunks of a document collection (Robertson and Zaragoza 2009), as Lucene scores it:
/// <c>idf(t) = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))</c> (never negative, unlike the original), and a chunk's score
/// for a query is Σ over query terms of <c>idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·len/avglen))</c>, with a term
/// counted once per occurrence in the query. Terms are <see cref="Terms"/>: lowercased runs of letters and digits, no
/// stemming and no stop words (idf already makes "the" nearly worthless). Saved as JSON with its options, so an index
/// built once answers many questions (`sharplm rag index`, then `rag search` / `rag ask`).
/// </summary>
public sealed class Bm25Index
{
    const int FormatVersion = 1;
    /// <summary>Largest index file <see cref="Load"/> reads (it holds the chunks' text, so it is not config-sized).</summary>
    public const long MaxIndexBytes = 512L << 20;

    readonly List<Chunk> chunks;
    readonly List<Dictionary<string, int>> termCounts;
    readonly int[] lengths;
    readonly Dictionary<string, int> documentFrequency = new(StringComparer.Ordinal);
    readonly double averageLength;

    /// <summary>The chunks, in document order.</summary>
    public IReadOnlyList<Chunk> Chunks => chunks;
    /// <summary>The options it was built with.</summary>
    public Bm25Options Options { get; }

    Bm25Index(List<Chunk> chunks, Bm25Options options)
    {
        this.chunks = chunks;
        Options = options;
        var terms = chunks.Select(c => Terms(c.Text)).ToList();
        termCounts = terms.Select(t => t.GroupBy(x => x, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal)).ToList();
        lengths = terms.Select(t => t.Count).ToArray();
        foreach (var counts in termCounts)
            foreach (string term in counts.Keys)
                documentFrequency[term] = documentFrequency.GetValueOrDefault(term) + 1;
        averageLength = lengths.Length == 0 ? 0 : lengths.Average();
    }

    /// <summary>Chunks <paramref name="documents"/> (name, text) and indexes the chunks.</summary>
    /// <exception cref="InvalidInputException">Bad options, or two documents with one name.</exception>
    public static Bm25Index Build(IEnumerable<(string Name, string Text)> documents, Bm25Options? options = null)
    {
        options ??= new Bm25Options();
        options.Validate();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var all = new List<Chunk>();
        foreach (var (name, text) in documents)
        {
            if (!names.Add(name)) throw new InvalidInputException($"{name}: two documents with this name");
            all.AddRange(Chunker.Split(name, text, options.ChunkWords, options.OverlapWords));
        }
        return new Bm25Index(all, options);
    }

    /// <summary>Indexes every .txt and .md file under <paramref name="folder"/> (names relative to it, '/'-separated, in ordinal order).</summary>
    /// <exception cref="InvalidInputException">No such folder, or nothing to index in it.</exception>
    public static Bm25Index BuildFromFolder(string folder, Bm25Options? options = null)
    {
        if (!Directory.Exists(folder)) throw new InvalidInputException($"{folder}: no such folder");
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
            .Select(f => (Path: f, Name: Path.GetRelativePath(folder, f).Replace('\\', '/')))
            .OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new InvalidInputException($"{folder}: no .txt or .md files to index");
        return Build(files.Select(f => (f.Name, File.ReadAllText(f.Path))), options);
    }

    /// <summary>The inverse document frequency of <paramref name="term"/> (a term as <see cref="Terms"/> makes them).</summary>
    public double Idf(string term)
    {
        int n = documentFrequency.GetValueOrDefault(term);
        return Math.Log(1 + (chunks.Count - n + 0.5) / (n + 0.5));
    }

    /// <summary>The BM25 score of chunk <paramref name="chunk"/> for <paramref name="query"/>.</summary>
    public double Score(string query, int chunk) => Score(Terms(query), chunk);

    // The query tokenised once, however many chunks it is scored against.
    double Score(IReadOnlyList<string> queryTerms, int chunk)
    {
        double score = 0;
        var counts = termCounts[chunk];
        double norm = Options.K1 * (1 - Options.B + Options.B * lengths[chunk] / Math.Max(averageLength, double.Epsilon));
        foreach (string term in queryTerms)
        {
            if (!counts.TryGetValue(term, out int tf)) continue;
            score += Idf(term) * tf * (Options.K1 + 1) / (tf + norm);
        }
        return score;
    }

    /// <summary>The <paramref name="k"/> chunks that score highest for <paramref name="query"/> (only those sharing a term
    /// with it), best first; ties keep document order.</summary>
    public IReadOnlyList<SearchHit> Search(string query, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), "k must be at least 1");
        var terms = Terms(query);
        return Enumerable.Range(0, chunks.Count)
            .Where(i => terms.Any(termCounts[i].ContainsKey))
            .Select(i => (Index: i, Score: Score(terms, i)))
            .OrderByDescending(h => h.Score).ThenBy(h => h.Index)
            .Take(k).Select(h => new SearchHit(chunks[h.Index], h.Score)).ToList();
    }

    /// <summary>The terms of <paramref name="text"/>: maximal runs of letters and digits, lowercased (invariant culture).</summary>
    public static IReadOnlyList<string> Terms(string text)
    {
        var terms = new List<string>();
        var current = new StringBuilder();
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c)) current.Append(char.ToLowerInvariant(c));
            else if (current.Length > 0) { terms.Add(current.ToString()); current.Clear(); }
        }
        if (current.Length > 0) terms.Add(current.ToString());
        return terms;
    }

    sealed record Saved(int FormatVersion, Bm25Options Options, List<Chunk> Chunks);

    /// <summary>Writes the index as JSON (atomically).</summary>
    public void Save(string path) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(new Saved(FormatVersion, Options, chunks), Json.Options));

    /// <summary>Reads an index <see cref="Save"/> wrote; the statistics are recomputed from its chunks.</summary>
    /// <exception cref="InvalidInputException">Missing, too large, not an index, or a different format version: one line naming the file.</exception>
    public static Bm25Index Load(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "index file not found");
        if (new FileInfo(path).Length > MaxIndexBytes) throw InvalidInputException.ForFile(path, $"too large for an index (at most {MaxIndexBytes >> 20} MiB)");
        Saved? saved;
        try
        {
            saved = JsonSerializer.Deserialize<Saved>(File.ReadAllText(path), Json.Options);
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile(path, $"not a BM25 index: {InvalidInputException.FirstLine(e)}", e);
        }
        if (saved?.Chunks is null || saved.Options is null) throw InvalidInputException.ForFile(path, "not a BM25 index (no chunks or options)");
        int bad = saved.Chunks.FindIndex(c => c?.Document is null || c.Text is null);
        if (bad >= 0) throw InvalidInputException.ForFile(path, $"chunks[{bad}]: needs a document and a text");
        if (saved.FormatVersion != FormatVersion) throw InvalidInputException.ForFile(path, $"format_version {saved.FormatVersion.ToString(CultureInfo.InvariantCulture)}, expected {FormatVersion}");
        saved.Options.Validate();
        return new Bm25Index(saved.Chunks, saved.Options);
    }

    // Word windows with overlap, keeping the original text (and its offsets) of each window.
    static class Chunker
    {
        public static IEnumerable<Chunk> Split(string document, string text, int words, int overlap)
        {
            var spans = new List<(int Start, int End)>();
            int i = 0;
            while (i < text.Length)
            {
                while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
                if (i == text.Length) break;
                int start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
                spans.Add((start, i));
            }
            int index = 0;
            for (int first = 0; first < spans.Count; first += words - overlap)
            {
                int last = Math.Min(first + words, spans.Count) - 1;
                yield return new Chunk(document, index++, spans[first].Start, text[spans[first].Start..spans[last].End]);
                if (last == spans.Count - 1) break;
            }
        }
    }
}
