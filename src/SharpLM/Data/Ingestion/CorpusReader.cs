using System.Text;
using System.Text.RegularExpressions;

namespace SharpLM.Data.Ingestion;

/// <summary>How <see cref="CorpusReader"/> turns files into documents.</summary>
public sealed record CorpusOptions
{
    /// <summary>JSON field (.jsonl) or column (.parquet) holding the text.</summary>
    public string TextField { get; init; } = "text";
    /// <summary>JSON field (.jsonl) or column (.parquet) holding the id; when absent or null the id is "file:line" or "file:row".</summary>
    public string IdField { get; init; } = "id";
    /// <summary>.txt: one document per blank-line-separated paragraph instead of one per file.</summary>
    public bool TxtParagraphs { get; init; }
    /// <summary>Larger documents are reported as bad records instead of being loaded into the pipeline.</summary>
    public int MaxDocumentBytes { get; init; } = 16 << 20;
}

/// <summary>A record that could not become a document: where (file or file:line) and why.</summary>
/// <param name="Location">The file, or one record in it ("file:line", "file#paragraph", …).</param>
/// <param name="Problem">What is wrong, in a few words (e.g. "empty document", "invalid UTF-8").</param>
public sealed record BadRecord(string Location, string Problem);

/// <summary>
/// How far a <see cref="CorpusReader.Read"/> has got through its input files, in file bytes (compressed bytes for
/// .gz), for a progress bar and an ETA. Updated by the reading thread, safe to read from any other.
/// </summary>
public sealed class ReadProgress
{
    long read;

    /// <summary>Size of all input files together, in bytes (compressed size for .gz).</summary>
    public long TotalBytes { get; internal set; }
    /// <summary>File bytes read so far.</summary>
    public long BytesRead => Interlocked.Read(ref read);
    /// <summary><see cref="BytesRead"/> over <see cref="TotalBytes"/>, in [0, 1]; 0 while the total is unknown or zero.</summary>
    public double Fraction => TotalBytes == 0 ? 0 : Math.Min(1, (double)BytesRead / TotalBytes);

    internal void Add(long bytes) => Interlocked.Add(ref read, bytes);
}

/// <summary>
/// Streams documents from .txt and .jsonl files, gzip-compressed or not, and .parquet files, given as a file, a
/// directory (recursively) or a glob ("data/**/*.jsonl.gz"), in ordinal path order so runs repeat. Bad input never
/// stops the stream: invalid UTF-8, malformed JSON, missing or non-string fields, empty or oversized documents, binary
/// files, truncated or corrupt gzip and unreadable Parquet each become a <see cref="BadRecord"/> passed to the
/// callback, and reading goes on.
/// </summary>
public sealed class CorpusReader
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    readonly CorpusOptions options;

    /// <summary>A reader with <paramref name="options"/>, or the defaults (text in "text", id in "id") when null.</summary>
    public CorpusReader(CorpusOptions? options = null) => this.options = options ?? new CorpusOptions();

    /// <summary>The documents of <paramref name="input"/>; <paramref name="progress"/>, if given, follows the reading.</summary>
    public IEnumerable<Document> Read(string input, Action<BadRecord> onBad, ReadProgress? progress = null)
    {
        var files = Files(input);
        progress ??= new ReadProgress();
        progress.TotalBytes = files.Sum(f => new FileInfo(f).Length);
        foreach (string file in files)
        {
            IEnumerable<Document> documents = Format(file) switch
            {
                ".jsonl" => ReadJsonl(file, progress, onBad),
                ".txt" => ReadText(file, progress, onBad),
                ".parquet" => ParquetRecords.Read(file, OpenCounted(file, progress), options, onBad),
                _ => Unsupported(file, onBad),
            };
            foreach (var d in documents) yield return d;
        }
    }

    /// <summary>Files named by a path, directory or glob, sorted; an input that names nothing is an error.</summary>
    public static IReadOnlyList<string> Files(string input)
    {
        List<string> files;
        if (input.Contains('*') || input.Contains('?'))
        {
            string full = Path.GetFullPath(input);
            int wildcard = full.IndexOfAny(new[] { '*', '?' });
            string root = Path.GetDirectoryName(full[..(wildcard + 1)]) ?? "/";
            var regex = GlobRegex(full);
            files = Directory.Exists(root)
                ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => regex.IsMatch(f)).ToList()
                : new List<string>();
        }
        else if (Directory.Exists(input))
            files = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Where(f => Format(f) is ".jsonl" or ".txt" or ".parquet").ToList();
        else if (File.Exists(input))
            files = new List<string> { input };
        else throw InvalidInputException.ForFile(input, "input not found");
        if (files.Count == 0) throw InvalidInputException.ForFile(input, "names no .txt, .jsonl (optionally .gz) or .parquet files");
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>".jsonl", ".txt" or ".parquet" (a trailing ".gz" ignored), or the extension itself.</summary>
    public static string Format(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return Path.GetExtension(name).ToLowerInvariant();
    }

    internal static bool IsGzip(string file) => file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    static Stream OpenCounted(string file, ReadProgress progress) => new CountingStream(File.OpenRead(file), progress);

    static Stream Open(string file, ReadProgress progress)
    {
        Stream s = OpenCounted(file, progress);
        return IsGzip(file) ? new CheckedGZipStream(s) : s;
    }

    static IEnumerable<Document> Unsupported(string file, Action<BadRecord> onBad)
    {
        onBad(new BadRecord(file, $"unsupported format '{Format(file)}' (expected .txt or .jsonl, optionally .gz, or .parquet)"));
        yield break;
    }

    IEnumerable<Document> ReadText(string file, ReadProgress progress, Action<BadRecord> onBad)
    {
        string? text = null;
        try
        {
            using var stream = Open(file, progress);
            using var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int n;
            while ((n = stream.Read(chunk)) > 0)
            {
                if (buffer.Length == 0 && Array.IndexOf(chunk, (byte)0, 0, n) >= 0) { onBad(new BadRecord(file, "binary file (NUL bytes)")); yield break; }
                buffer.Write(chunk, 0, n);
                if (!options.TxtParagraphs && buffer.Length > options.MaxDocumentBytes) { onBad(new BadRecord(file, $"document larger than {options.MaxDocumentBytes:N0} bytes")); yield break; }
            }
            text = StrictUtf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException) { onBad(new BadRecord(file, "invalid UTF-8")); }
        catch (InvalidDataException) { onBad(new BadRecord(file, CorruptGzip)); }
        catch (IOException e) { onBad(new BadRecord(file, $"unreadable ({InvalidInputException.FirstLine(e)})")); } // e.g. a file past 2 GB in paragraph mode
        if (text is null) yield break;

        if (!options.TxtParagraphs)
        {
            if (string.IsNullOrWhiteSpace(text)) onBad(new BadRecord(file, "empty document"));
            else yield return new Document(file, text);
            yield break;
        }
        int paragraph = 0;
        foreach (string p in Regex.Split(text, @"\n[ \t\r]*\n"))
        {
            paragraph++;
            if (string.IsNullOrWhiteSpace(p)) continue;
            if (Encoding.UTF8.GetByteCount(p) > options.MaxDocumentBytes) { onBad(new BadRecord($"{file}#{paragraph}", $"document larger than {options.MaxDocumentBytes:N0} bytes")); continue; }
            yield return new Document($"{file}#{paragraph}", p.Trim('\n', '\r'));
        }
    }

    IEnumerable<Document> ReadJsonl(string file, ReadProgress progress, Action<BadRecord> onBad)
    {
        using var stream = Open(file, progress);
        foreach (var document in new JsonlRecords(options).Read(stream, file, onBad)) yield return document;
    }

    internal const string CorruptGzip = "corrupt gzip stream (truncated or damaged)";

    static Regex GlobRegex(string glob)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                sb.Append(".*");
                i++;
                if (i + 1 < glob.Length && glob[i + 1] == '/') i++; // "**/" also matches no directory
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
