using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// Turns dataset records into (prompt, response) instances with an <see cref="InstructionTemplate"/>: a fixed
/// phrasing, or one drawn per record from a seeded generator (so the same seed gives the same instances); optionally
/// k exemplars drawn from a pool of records, each rendered with the same phrasing followed by its response, before
/// the prompt (in-context exemplars in the instruction, as FLAN's few-shot templates).
/// </summary>
public sealed class InstructionFormatter
{
    readonly InstructionTemplate template;
    readonly SplitMix64 random;

    /// <param name="template">The task's phrasings and response.</param>
    /// <param name="seed">Seeds the choice of phrasings and exemplars.</param>
    public InstructionFormatter(InstructionTemplate template, ulong seed = 0)
    {
        this.template = template;
        random = new SplitMix64(seed);
    }

    /// <summary>Use this phrasing for every record; null (the default) draws one per record.</summary>
    public int? Phrasing { get; init; }

    /// <summary>Only these phrasings are drawn from (e.g. the training ones); null means all.</summary>
    public IReadOnlyList<int>? AllowedPhrasings { get; init; }

    /// <summary>Number of exemplars before the prompt.</summary>
    public int Exemplars { get; init; }

    /// <summary>Records the exemplars are drawn from (never the record being formatted, by reference).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> ExemplarPool { get; init; } = [];

    /// <exception cref="ArgumentException">A phrasing index out of range, or too few records for the exemplars.</exception>
    public InstructionInstance Format(IReadOnlyDictionary<string, string> record)
    {
        int phrasing = Phrasing ?? DrawPhrasing();
        if (phrasing < 0 || phrasing >= template.Phrasings.Count)
            throw new ArgumentException($"template {template.Task} has phrasings 0…{template.Phrasings.Count - 1}, not {phrasing}");
        string prompt = template.RenderPrompt(phrasing, record);
        if (Exemplars > 0)
        {
            var candidates = ExemplarPool.Where(r => !ReferenceEquals(r, record)).ToList();
            if (candidates.Count < Exemplars)
                throw new ArgumentException($"{Exemplars} exemplars requested but the pool has {candidates.Count} other records");
            var shots = Draw(candidates, Exemplars).Select(r => $"{template.RenderPrompt(phrasing, r)}\n{template.RenderResponse(r)}");
            prompt = string.Join(template.ExemplarSeparator, shots.Append(prompt));
        }
        return new InstructionInstance(template.Task, phrasing, prompt, template.RenderResponse(record));
    }

    /// <summary>Formats each record in turn, as <see cref="Format"/>; lazily, so the draws happen as the sequence is read.</summary>
    public IEnumerable<InstructionInstance> FormatAll(IEnumerable<IReadOnlyDictionary<string, string>> records) => records.Select(Format);

    int DrawPhrasing()
    {
        var allowed = AllowedPhrasings ?? Enumerable.Range(0, template.Phrasings.Count).ToArray();
        if (allowed.Count == 0) throw new ArgumentException("no phrasings allowed");
        return allowed[(int)random.NextLong(allowed.Count)];
    }

    // k distinct items, by a partial Fisher–Yates shuffle.
    List<T> Draw<T>(List<T> items, int k)
    {
        var pool = items.ToArray();
        for (int i = 0; i < k; i++)
        {
            int j = i + (int)random.NextLong(pool.Length - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool[..k].ToList();
    }
}
