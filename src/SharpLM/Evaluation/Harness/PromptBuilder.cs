using System.Text.Json;
using SharpLM.Data.Catalog;
using SharpLM.Runtime;
using SharpLM.Utilization.Retrieval;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Evaluation.Harness;

/// <summary>
/// Builds the prompt of each document as lm-evaluation-harness does: description, then the few-shot exemplars
/// (question, target delimiter, answer) joined by the few-shot delimiter, then the document's question. Exemplars
/// are chosen per document from the other documents — drawn with a generator seeded by (seed, document index), or the
/// BM25 nearest neighbours of its question — and ordered as the task says, so a document's prompt does not depend on
/// --limit or on the order tasks run in.
/// </summary>
public sealed class PromptBuilder
{
    readonly TaskConfig task;
    readonly IReadOnlyList<JsonElement> documents;
    readonly int shots;
    readonly ulong seed;
    readonly string? fixedPrompt;
    readonly Lazy<Bm25Index> questions;
    readonly Lazy<float[][]>? embeddings;

    /// <summary>A builder over <paramref name="documents"/>; a task's fixed prompt file is resolved through <paramref name="store"/> (default: <see cref="DataStore.Default"/>).</summary>
    /// <param name="task">The task.</param>
    /// <param name="documents">Its documents.</param>
    /// <param name="numFewshot">Overrides the task's few-shot count.</param>
    /// <param name="seed">Seeds the exemplar draw.</param>
    /// <param name="store">Resolves the fixed prompt file (default: <see cref="DataStore.Default"/>).</param>
    /// <param name="allowAnyPath">Read an absolute prompt file path, or one with "..", as it is (see <see cref="TaskDataset"/>).</param>
    /// <param name="embedder">Embeds questions for "embedding" selection: the evaluated model, when it can.</param>
    /// <exception cref="InvalidInputException">A negative or too large few-shot count, or "embedding" selection without an embedder.</exception>
    public PromptBuilder(TaskConfig task, IReadOnlyList<JsonElement> documents, int? numFewshot, ulong seed, DataStore? store = null, bool allowAnyPath = false,
        IEmbeddingModel? embedder = null)
    {
        this.task = task;
        this.documents = documents;
        this.seed = seed;
        // Every question as one chunk, so a document's neighbours are whole documents.
        questions = new(() => Bm25Index.Build(documents.Select((_, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), Question(i))),
            new Bm25Options { ChunkWords = int.MaxValue / 2, OverlapWords = 0 }));
        shots = numFewshot ?? task.Fewshot.Num;
        if (task.Fewshot.Selection == FewShotSelection.Embedding && shots > 0)
        {
            if (embedder is null)
                throw new InvalidInputException($"{task.Task}: fewshot.selection embedding needs a model whose hidden states can be read (a checkpoint:), not a remote one");
            // Every question once, when the first prompt needs them.
            embeddings = new(() => documents.Select((_, i) => embedder.Embed(Question(i))).ToArray());
        }
        if (shots < 0) throw new InvalidInputException($"{task.Task}: few-shot count must not be negative");
        if (shots >= documents.Count) throw new InvalidInputException($"{task.Task}: {shots} few-shot examples need more than {documents.Count} documents");
        if (task.Fewshot.PromptFile is string file)
        {
            string path = TaskDataset.ResolvePath(task, file, "fewshot.prompt_file", store, allowAnyPath);
            string text = System.Text.Encoding.UTF8.GetString(TaskDataset.ReadBounded(path));
            int rule = text.IndexOf("-----\n", StringComparison.Ordinal); // BBH prompt files: a canary header, then the prompt
            fixedPrompt = (rule >= 0 ? text[(rule + 6)..] : text).Trim();
        }
    }

    /// <summary>Few-shot exemplars per prompt: the run's override, else the task's own count.</summary>
    public int Shots => shots;

    /// <summary>The document's question alone, rendered from the task's doc_to_text template.</summary>
    public string Question(int index) => PromptTemplate.Render(task.DocToText, documents[index], task.TemplateSource("doc_to_text"));

    /// <summary>The whole prompt of document <paramref name="index"/>: description, fixed prompt or exemplars, then its question.</summary>
    public string Prompt(int index)
    {
        var parts = new List<string>();
        if (fixedPrompt is not null) parts.Add(fixedPrompt);
        foreach (int shot in Exemplars(index)) parts.Add(Question(shot) + task.TargetDelimiter + ExemplarAnswer(shot));
        parts.Add(Question(index));
        return task.Description + string.Join(task.FewshotDelimiter, parts);
    }

    /// <summary>Indices of the exemplars for a document, in prompt order: distinct, never the document itself.</summary>
    public IReadOnlyList<int> Exemplars(int index)
    {
        if (shots == 0) return [];
        var random = new SplitMix64(seed * 0x9E3779B97F4A7C15UL ^ (ulong)index);
        var chosen = new List<int>(shots);
        if (task.Fewshot.Selection == FewShotSelection.Mmr) chosen.AddRange(MaximalMarginalRelevance(index));
        else if (task.Fewshot.Selection is FewShotSelection.Bm25 or FewShotSelection.Embedding)
        {
            // Most similar first (ties in document order). Questions sharing no term with this one are not neighbours,
            // so a short list is topped up with draws below.
            foreach (var (candidate, _) in Neighbours(index, shots + 1))
                if (candidate != index && chosen.Count < shots) chosen.Add(candidate);
        }
        while (chosen.Count < shots)
        {
            int candidate = (int)random.NextLong(documents.Count);
            if (candidate != index && !chosen.Contains(candidate)) chosen.Add(candidate);
        }
        switch (task.Fewshot.Order)
        {
            case FewShotSelection.Random:
                for (int i = chosen.Count - 1; i > 0; i--)
                {
                    int j = (int)random.NextLong(i + 1);
                    (chosen[i], chosen[j]) = (chosen[j], chosen[i]);
                }
                break;
            case FewShotSelection.SimilarLast:
                // Least similar first, so the closest exemplar sits right before the question (equal scores keep their order).
                var scores = Neighbours(index, documents.Count).ToDictionary(n => n.Document, n => n.Score);
                chosen = chosen.OrderBy(c => scores.GetValueOrDefault(c)).ToList();
                break;
        }
        return chosen;
    }

    // Greedy MMR over the questions that share a term with this one's: each pick maximises
    // λ·relevance − (1 − λ)·(greatest similarity to a pick so far), relevance being BM25 divided by the best score and
    // similarity the cosine of word counts. Fewer than the shots when fewer questions share a term (draws top up).
    List<int> MaximalMarginalRelevance(int index)
    {
        var candidates = Neighbours(index, documents.Count).Where(n => n.Document != index).ToList();
        if (candidates.Count == 0) return [];
        double best = candidates[0].Score, lambda = task.Fewshot.MmrLambda;
        var counts = candidates.ToDictionary(c => c.Document, c => WordCounts(Question(c.Document)));
        var picked = new List<int>();
        while (picked.Count < shots && candidates.Count > 0)
        {
            var next = candidates.MaxBy(c => lambda * c.Score / best - (1 - lambda) * (picked.Count == 0 ? 0 : picked.Max(p => Cosine(counts[c.Document], counts[p]))));
            picked.Add(next.Document);
            candidates.Remove(next);
        }
        return picked;
    }

    static Dictionary<string, int> WordCounts(string text) =>
        Bm25Index.Terms(text).GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    static double Cosine(Dictionary<string, int> a, Dictionary<string, int> b)
    {
        double dot = a.Sum(kv => kv.Value * (double)b.GetValueOrDefault(kv.Key));
        double norms = Math.Sqrt(a.Values.Sum(v => (double)v * v)) * Math.Sqrt(b.Values.Sum(v => (double)v * v));
        return norms == 0 ? 0 : dot / norms;
    }

    // The documents nearest this one, best first: by the cosine of their embeddings with "embedding" selection (every
    // document is a neighbour), else those whose questions share a term with this one's, by BM25 score.
    IEnumerable<(int Document, double Score)> Neighbours(int index, int k)
    {
        if (embeddings is not null)
        {
            var all = embeddings.Value;
            return Enumerable.Range(0, all.Length).Select(i => (Document: i, Score: Inference.TextEmbedder.Cosine(all[index], all[i])))
                .OrderByDescending(n => n.Score).ThenBy(n => n.Document).Take(k).ToList();
        }
        return questions.Value.Search(Question(index), k).Select(h => (int.Parse(h.Chunk.Document, System.Globalization.CultureInfo.InvariantCulture), h.Score));
    }

    string ExemplarAnswer(int index)
    {
        var doc = documents[index];
        if (task.Fewshot.DocToTarget is string template) return PromptTemplate.Render(template, doc, task.TemplateSource("fewshot.doc_to_target"));
        if (task.OutputType == OutputType.MultipleChoice) return TaskAnswers.Choices(task, doc)[TaskAnswers.Gold(task, doc)];
        return TaskAnswers.Targets(task, doc)[0];
    }
}

/// <summary>Choices and gold answers of a document, from the task's templates.</summary>
public static class TaskAnswers
{
    /// <summary>The answer choices of a document, from the task's doc_to_choice (a list, or a template that yields one).</summary>
    public static IReadOnlyList<string> Choices(TaskConfig task, JsonElement doc)
    {
        if (task.DocToChoice is not JsonElement spec) throw new InvalidInputException($"{task.Task}: multiple_choice needs doc_to_choice");
        if (spec.ValueKind == JsonValueKind.Array) return spec.EnumerateArray().Select(t => PromptTemplate.Render(t.GetString() ?? "", doc, task.TemplateSource("doc_to_choice"))).ToArray();
        var value = PromptTemplate.Value(spec.GetString() ?? "", doc, task.TemplateSource("doc_to_choice"));
        if (value.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"{task.Task}: doc_to_choice must give a list");
        return value.EnumerateArray().Select(PromptTemplate.AsText).ToArray();
    }

    /// <summary>Index of the right choice: the target is an index, or the text of one of the choices.</summary>
    public static int Gold(TaskConfig task, JsonElement doc)
    {
        var choices = Choices(task, doc);
        var target = Target(task, doc);
        int gold = target.ValueKind == JsonValueKind.Number ? target.GetInt32()
            : int.TryParse(PromptTemplate.AsText(target), out int parsed) ? parsed : choices.ToList().IndexOf(PromptTemplate.AsText(target));
        if (gold < 0 || gold >= choices.Count) throw new InvalidInputException($"{task.Task}: target '{PromptTemplate.AsText(target)}' is not one of the {choices.Count} choices");
        return gold;
    }

    /// <summary>Acceptable answers (a list field gives several, e.g. NQ-open's or TriviaQA's aliases).</summary>
    public static IReadOnlyList<string> Targets(TaskConfig task, JsonElement doc)
    {
        var target = Target(task, doc);
        return target.ValueKind == JsonValueKind.Array ? target.EnumerateArray().Select(PromptTemplate.AsText).ToArray() : [PromptTemplate.AsText(target)];
    }

    static JsonElement Target(TaskConfig task, JsonElement doc) =>
        PromptTemplate.Value(task.DocToTarget ?? throw new InvalidInputException($"{task.Task}: doc_to_target is required"), doc, task.TemplateSource("doc_to_target"));
}
