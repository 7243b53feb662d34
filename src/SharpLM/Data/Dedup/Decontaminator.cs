using System.Text.Json;

namespace SharpLM.Data.Dedup;

/// <summary>A training document that shares text with an evaluation set.</summary>
/// <param name="Benchmark">The benchmark of the first matching n-gram.</param>
/// <param name="MatchedNGrams">How many of the document's n-gram positions match some evaluation n-gram.</param>
public sealed record ContaminationHit(string Benchmark, int MatchedNGrams);

/// <summary>
/// Dataset-level decontamination as GPT-3 did it: a training document is contaminated when it shares any 13-gram
/// (of lower-cased words, punctuation ignored; characters in CJK text) with an evaluation example. Every string of
/// every evaluation record counts separately, and so do the record's strings joined as a page would quote them —
/// prompt-like fields (question, query, prompt, input, context, passage) first, the rest in file order — so text
/// that quotes a short question with its options is caught too. Strings shorter than 13 tokens contribute their
/// <see cref="MinimumTokens"/>-grams instead (so a short question is caught with or without a "Question:" prefix),
/// and strings shorter than that are ignored: answer options like "safety goggles" occur in ordinary text and
/// would flag clean documents.
/// </summary>
public sealed class Decontaminator
{
    /// <summary>The n-gram length, in tokens, that evaluation strings of at least this many tokens contribute (GPT-3's 13).</summary>
    public const int N = 13;
    /// <summary>Shortest evaluation string, in tokens, that counts; strings shorter than <see cref="N"/> contribute n-grams of this length.</summary>
    public const int MinimumTokens = 8;

    readonly Dictionary<int, Dictionary<ulong, string>> byLength = new(); // n-gram length → hash → benchmark

    /// <summary>Distinct evaluation n-grams held, over both lengths.</summary>
    public int NGrams => byLength.Values.Sum(d => d.Count);

    /// <summary>
    /// Adds an evaluation file given as "PATH" or "NAME=PATH", or a data set of the manifest by name ("gsm8k").
    /// Without a name the benchmark is the file name, or the folder's when the file is a split
    /// ("gsm8k/test.jsonl" → gsm8k), so a hit says which benchmark leaked.
    /// </summary>
    public void AddEvaluationFile(string spec)
    {
        int equals = spec.IndexOf('=');
        if (equals > 0 && !File.Exists(spec)) { AddEvaluationFile(spec[(equals + 1)..], spec[..equals]); return; }
        if (!File.Exists(spec) && Catalog.DataStore.Default.Manifest.Find(spec) is { } set)
        {
            // A data set name ("gsm8k"): its JSON files, fetched and verified, under the data set's name.
            var files = Catalog.DataStore.Default.ResolveDataset(set.Name).Where(f => f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase)).ToList();
            if (files.Count == 0) throw new InvalidInputException($"--decontaminate {spec}: the data set has no .jsonl or .json file to check against");
            foreach (string file in files) AddEvaluationFile(file, set.Name);
            return;
        }
        string name = Path.GetFileNameWithoutExtension(spec);
        if (name.ToLowerInvariant() is "test" or "train" or "dev" or "val" or "valid" or "validation" or "eval")
            name = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(spec))) ?? name;
        AddEvaluationFile(spec, name);
    }

    /// <summary>Adds every string field of every record of a .jsonl evaluation file (or a .json array) under <paramref name="benchmark"/>.</summary>
    public void AddEvaluationFile(string path, string benchmark)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "evaluation file not found");
        try
        {
            if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(path));
                if (doc.RootElement.ValueKind == JsonValueKind.Array)
                    foreach (var record in doc.RootElement.EnumerateArray()) AddRecord(record, benchmark);
                else AddRecord(doc.RootElement, benchmark);
                return;
            }
            int line = 0;
            foreach (string text in File.ReadLines(path))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                using var doc = JsonDocument.Parse(text);
                AddRecord(doc.RootElement, benchmark);
            }
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile(path, $"malformed JSON: {InvalidInputException.FirstLine(e)}", e);
        }
    }

    /// <summary>Adds one evaluation text.</summary>
    public void AddEvaluationText(string text, string benchmark)
    {
        var tokens = Shingles.Tokens(text);
        if (tokens.Count < MinimumTokens) return;
        int n = tokens.Count >= N ? N : MinimumTokens;
        if (!byLength.TryGetValue(n, out var set)) byLength[n] = set = new Dictionary<ulong, string>();
        for (int i = 0; i + n <= tokens.Count; i++) set.TryAdd(Shingles.NGram(tokens, i, n), benchmark);
    }

    /// <summary>The first benchmark the document overlaps and how many of its n-grams matched, or null if clean.</summary>
    public ContaminationHit? Check(string text)
    {
        var tokens = Shingles.Tokens(text);
        string? first = null;
        int matched = 0;
        foreach (var (n, set) in byLength)
            for (int i = 0; i + n <= tokens.Count; i++)
                if (set.TryGetValue(Shingles.NGram(tokens, i, n), out string? benchmark))
                {
                    first ??= benchmark;
                    matched++;
                }
        return first is null ? null : new ContaminationHit(first, matched);
    }

    static readonly string[] PromptFields = { "question", "query", "prompt", "input", "context", "passage" };

    void AddRecord(JsonElement record, string benchmark)
    {
        var strings = new List<string>();
        if (record.ValueKind == JsonValueKind.Object)
        {
            var fields = record.EnumerateObject().ToList();
            foreach (var f in fields.Where(f => PromptFields.Contains(f.Name, StringComparer.OrdinalIgnoreCase))) Collect(f.Value, strings);
            foreach (var f in fields.Where(f => !PromptFields.Contains(f.Name, StringComparer.OrdinalIgnoreCase))) Collect(f.Value, strings);
        }
        else Collect(record, strings);
        foreach (string s in strings) AddEvaluationText(s, benchmark);
        if (strings.Count > 1) AddEvaluationText(string.Join(' ', strings), benchmark);
    }

    static void Collect(JsonElement element, List<string> strings)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String: strings.Add(element.GetString()!); break;
            case JsonValueKind.Array: foreach (var item in element.EnumerateArray()) Collect(item, strings); break;
            case JsonValueKind.Object: foreach (var property in element.EnumerateObject()) Collect(property.Value, strings); break;
        }
    }
}
