using System.Text.Json;
using SharpLM.Data.Ingestion;

namespace SharpLM.Data.Mixture;

/// <summary>
/// The second pass over one source: its quota's documents in file order, pass after pass, read lazily. Each gets
/// the metadata field <c>source</c> (replacing any the input had) and, from the second pass on, the id suffix
/// <c>#r{pass}</c> so that repeated documents keep unique ids.
/// </summary>
internal static class SourceStream
{
    public static IEnumerable<Document> Read(MixtureSource source, SourceQuota quota, CorpusReader reader, ulong seed)
    {
        string name = JsonSerializer.Serialize(source.Name); // metadata values are raw JSON: a quoted string
        for (long pass = 1; pass <= quota.Passes; pass++)
        {
            bool partial = pass > quota.FullPasses;
            foreach (var document in reader.Read(source.Path, _ => { })) // bad records were counted by the census
            {
                if (partial && SelectionBucket.Of(seed, source.Name, document.Id) >= quota.Cutoff) continue;
                var metadata = document.Metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(document.Metadata);
                metadata["source"] = name;
                yield return new Document(pass == 1 ? document.Id : $"{document.Id}#r{pass}", document.Text, metadata);
            }
        }
    }
}
