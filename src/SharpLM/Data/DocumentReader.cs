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
    public static IEnumerable<Document> Read(string path, string jsonlField = "text") =>
        new CorpusReader(new CorpusOptions { TextField = jsonlField }).Read(path, bad =>
        {
            if (bad.Problem != "empty document") throw InvalidInputException.ForFile(bad.Location, bad.Problem);
        });
}
