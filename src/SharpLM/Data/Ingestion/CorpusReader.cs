using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SharpLM.Data.Ingestion;

/// <summary>How <see cref="CorpusReader"/> turns files into documents.</summary>
public sealed record CorpusOptions
{
    /// <summary>JSON field holding the text (.jsonl).</summary>
    public string TextField { get; init; } = "text";
    /// <summary>JSON field holding the id (.jsonl); when absent from a record the id is "file:line".</summary>
    public string IdField { get; init; } = "id";
    /// <summary>.txt: one document per blank-line-separated paragraph instead of one per file.</summary>
    public bool TxtParagraphs { get; init; }
    /// <summary>Larger documents are reported as bad records instead of being loaded into the pipeline.</summary>
    public int MaxDocumentBytes { get; init; } = 16 << 20;
}

/// <summary>A record that could not become a document: where (file or file:line) and why.</summary>
public sealed record BadRecord(string Location, string Problem);

/// <summary>
/// Streams documents from .txt and .jsonl files, gzip-compressed or not, given as a file, a directory (recursively)
/// or a glob ("data/**/*.jsonl.gz"), in ordinal path order so runs repeat. Bad input never stops the stream:
/// invalid UTF-8, malformed JSON, missing or non-string fields, empty or oversized documents and binary files each
/// become a <see cref="BadRecord"/> passed to the callback, and reading goes on.
/// </summary>
public sealed class CorpusReader
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    readonly CorpusOptions options;

    public CorpusReader(CorpusOptions? options = null) => this.options = options ?? new CorpusOptions();

    public IEnumerable<Document> Read(string input, Action<BadRecord> onBad)
    {
        foreach (string file in Files(input))
        {
            IEnumerable<Document> documents = Format(file) switch
            {
                ".jsonl" => ReadJsonl(file, onBad),
                ".txt" => ReadText(file, onBad),
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
            files = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Where(f => Format(f) is ".jsonl" or ".txt").ToList();
        else if (File.Exists(input))
            files = new List<string> { input };
        else throw InvalidInputException.ForFile(input, "input not found");
        if (files.Count == 0) throw InvalidInputException.ForFile(input, "names no .txt or .jsonl files (optionally .gz)");
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>".jsonl" or ".txt" (a trailing ".gz" ignored), or the extension itself.</summary>
    public static string Format(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return Path.GetExtension(name).ToLowerInvariant();
    }

    static Stream Open(string file)
    {
        Stream s = File.OpenRead(file);
        return file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(s, CompressionMode.Decompress) : s;
    }

    static IEnumerable<Document> Unsupported(string file, Action<BadRecord> onBad)
    {
        onBad(new BadRecord(file, $"unsupported format '{Format(file)}' (expected .txt or .jsonl, optionally .gz)"));
        yield break;
    }

    IEnumerable<Document> ReadText(string file, Action<BadRecord> onBad)
    {
        string? text = null;
        try
        {
            using var stream = Open(file);
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
        catch (InvalidDataException e) { onBad(new BadRecord(file, $"corrupt gzip ({e.Message})")); }
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
            if (!string.IsNullOrWhiteSpace(p)) yield return new Document($"{file}#{paragraph}", p.Trim('\n', '\r'));
        }
    }

    IEnumerable<Document> ReadJsonl(string file, Action<BadRecord> onBad)
    {
        using var stream = Open(file);
        int lineNumber = 0;
        foreach (byte[]? line in Lines(stream, file, onBad))
        {
            lineNumber++;
            if (line is null) continue; // already reported (corrupt stream)
            string location = $"{file}:{lineNumber}";
            if (line.Length > options.MaxDocumentBytes) { onBad(new BadRecord(location, $"record larger than {options.MaxDocumentBytes:N0} bytes")); continue; }
            if (line.AsSpan().Trim((byte)' ').Trim((byte)'\r').IsEmpty) continue;
            var document = ParseRecord(line, location, onBad);
            if (document is not null) yield return document;
        }
    }

    Document? ParseRecord(byte[] line, string location, Action<BadRecord> onBad)
    {
        try
        {
            StrictUtf8.GetCharCount(line); // JsonDocument would replace invalid bytes silently
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.ValueKind != JsonValueKind.Object) { onBad(new BadRecord(location, "not a JSON object")); return null; }
            if (!json.RootElement.TryGetProperty(options.TextField, out var textValue)) { onBad(new BadRecord(location, $"field '{options.TextField}' missing")); return null; }
            if (textValue.ValueKind != JsonValueKind.String) { onBad(new BadRecord(location, $"field '{options.TextField}' is {textValue.ValueKind}, not a string")); return null; }
            string text = textValue.GetString()!;
            if (string.IsNullOrWhiteSpace(text)) { onBad(new BadRecord(location, "empty document")); return null; }
            string id = json.RootElement.TryGetProperty(options.IdField, out var idValue) && idValue.ValueKind is JsonValueKind.String or JsonValueKind.Number
                ? idValue.ToString() : location;
            var metadata = new Dictionary<string, string>();
            foreach (var property in json.RootElement.EnumerateObject())
                if (property.Name != options.TextField && property.Name != options.IdField) metadata[property.Name] = property.Value.GetRawText();
            return new Document(id, text, metadata.Count > 0 ? metadata : null);
        }
        catch (DecoderFallbackException) { onBad(new BadRecord(location, "invalid UTF-8")); }
        catch (JsonException e) { onBad(new BadRecord(location, $"malformed JSON ({InvalidInputException.FirstLine(e)})")); }
        return null;
    }

    /// <summary>Raw lines (without '\n'); a corrupt compressed stream ends the file with one bad record.</summary>
    static IEnumerable<byte[]?> Lines(Stream stream, string file, Action<BadRecord> onBad)
    {
        var buffer = new byte[1 << 16];
        var line = new MemoryStream();
        while (true)
        {
            int n;
            try { n = stream.Read(buffer); }
            catch (InvalidDataException e) { onBad(new BadRecord(file, $"corrupt gzip ({e.Message})")); yield break; }
            if (n == 0) break;
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, start, i - start);
                yield return line.ToArray();
                line.SetLength(0);
                start = i + 1;
            }
            line.Write(buffer, start, n - start);
        }
        if (line.Length > 0) yield return line.ToArray();
    }

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
