using System.IO.Compression;
using System.Text;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// Line-aligned parallel text (Multi30k's <c>test_2016_flickr.en.gz</c> / <c>.de.gz</c>) as records, one per line
/// number: <c>{"en": …, "de": …}</c>, ready for an <see cref="InstructionTemplate"/>.
/// </summary>
public static class ParallelCorpus
{
    /// <param name="files">Field name → file (plain or .gz), e.g. en → test_2016_flickr.en.gz.</param>
    /// <exception cref="InvalidInputException">A missing or unreadable file, or files of different line counts.</exception>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> Read(IReadOnlyDictionary<string, string> files)
    {
        if (files.Count == 0) throw new ArgumentException("no files", nameof(files));
        var columns = files.ToDictionary(kv => kv.Key, kv => ReadLines(kv.Value));
        int count = columns.Values.First().Length;
        if (columns.Values.Any(c => c.Length != count))
            throw new InvalidInputException($"parallel files have different line counts: {string.Join(", ", files.Select(f => $"{f.Value} {columns[f.Key].Length}"))}");
        return Enumerable.Range(0, count)
            .Select(i => (IReadOnlyDictionary<string, string>)columns.ToDictionary(c => c.Key, c => c.Value[i]))
            .ToList();
    }

    static string[] ReadLines(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
        try
        {
            using Stream file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            string text = new StreamReader(stream, Encoding.UTF8).ReadToEnd();
            return text.TrimEnd('\n').Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw InvalidInputException.ForFile(path, $"cannot read ({InvalidInputException.FirstLine(e)})", e);
        }
    }
}
