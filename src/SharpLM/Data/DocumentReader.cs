using SharpLM.Data.Ingestion;

namespace SharpLM.Data;

/// <summary>
/// Strict reading for data preparation: the same formats as <see cref="CorpusReader"/> (txt, jsonl, gzip,
/// directories, globs), but a bad record stops with a one-line error naming it — a tokenized training set should
/// not silently lose documents. Empty documents are skipped. (Cleaning, which tolerates bad input, uses
/// <see cref="CorpusReader"/> directly.)
/// </summary>
public static class DocumentReader
{
    /// <summary>Streams the documents of <paramref name="path"/> (a file, directory or glob), skipping empty ones.</summary>
    /// <param name="path">A file, directory (searched recursively) or glob of .txt, .jsonl (optionally .gz) and .parquet files.</param>
    /// <param name="jsonlField">The field of a JSON-lines record that holds the text.</param>
    /// <exception cref="InvalidInputException">A file or record is bad; the message names where and why.</exception>
    public static IEnumerable<Document> Read(string path, string jsonlField = "text") =>
        new CorpusReader(new CorpusOptions { TextField = jsonlField }).Read(path, bad =>
        {
            if (bad.Problem != "empty document") throw InvalidInputException.ForFile(bad.Location, bad.Problem);
        });
}
