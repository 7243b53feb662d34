using System.Text.Json;
using SharpLM.Evaluation.Harness;

namespace SharpLM.Tests.Evaluation.Harness;

public class FewShotSelectionTests
{
    static readonly string[] Questions =
    [
        "what colour is the sky on a clear day",   // 0: the query below
        "how many legs does a spider have",        // 1
        "what colour is grass",                    // 2: shares "what colour is"
        "why is the sky blue on a clear day",      // 3: shares the most
        "how far is the moon",                     // 4
        "who wrote hamlet",                        // 5
    ];

    static readonly IReadOnlyList<JsonElement> Docs = Questions.Select((q, i) => JsonDocument.Parse(JsonSerializer.Serialize(new { q, a = i.ToString() })).RootElement).ToList();

    static TaskConfig Task(string selection, string order, int shots) => new()
    {
        Task = "t", OutputType = OutputType.GenerateUntil, Dataset = new DatasetSpec(), DocToText = "{{q}}", DocToTarget = "{{a}}",
        Fewshot = new FewShotSpec { Num = shots, Selection = selection, Order = order },
    };

    [Fact]
    public void Bm25_selection_takes_the_nearest_questions_most_similar_first_never_the_document_itself()
    {
        var builder = new PromptBuilder(Task(FewShotSelection.Bm25, FewShotSelection.Given, 2), Docs, null, 1);
        Assert.Equal([3, 2], builder.Exemplars(0));
        // The prompt shows them in that order, then the question.
        string prompt = builder.Prompt(0);
        Assert.True(prompt.IndexOf(Questions[3], StringComparison.Ordinal) < prompt.IndexOf(Questions[2], StringComparison.Ordinal));
        Assert.EndsWith(Questions[0], prompt);
    }

    [Fact]
    public void Bm25_selection_tops_up_with_seeded_draws_when_too_few_questions_share_a_term()
    {
        var builder = new PromptBuilder(Task(FewShotSelection.Bm25, FewShotSelection.Given, 4), Docs, null, 1);
        var shots = builder.Exemplars(5); // "who wrote hamlet" shares no term with any other question
        Assert.Equal(4, shots.Distinct().Count());
        Assert.DoesNotContain(5, shots);
        Assert.Equal(shots, new PromptBuilder(Task(FewShotSelection.Bm25, FewShotSelection.Given, 4), Docs, null, 1).Exemplars(5));
        // "how many legs …" shares "how" with one question: it comes first, then draws.
        Assert.Equal(4, new PromptBuilder(Task(FewShotSelection.Bm25, FewShotSelection.Given, 3), Docs, null, 1).Exemplars(1)[0]);
    }

    /// <summary>Embeds a question as the unit vector of its letter counts: questions sharing letters are near.</summary>
    sealed class LetterEmbedder : IEmbeddingModel
    {
        public int Calls;
        public float[] Embed(string text)
        {
            Calls++;
            var v = new float[26];
            foreach (char c in text) if (c is >= 'a' and <= 'z') v[c - 'a']++;
            float norm = MathF.Sqrt(v.Sum(x => x * x));
            return v.Select(x => x / norm).ToArray();
        }
    }

    [Fact]
    public void Embedding_selection_takes_the_nearest_questions_by_the_models_vectors_never_the_document_itself()
    {
        var embedder = new LetterEmbedder();
        var builder = new PromptBuilder(Task(FewShotSelection.Embedding, FewShotSelection.Given, 2), Docs, null, 1, embedder: embedder);
        var expected = Enumerable.Range(1, Docs.Count - 1)
            .OrderByDescending(i => SharpLM.Inference.TextEmbedder.Cosine(embedder.Embed(Questions[0]), embedder.Embed(Questions[i]))).Take(2).ToArray();
        embedder.Calls = 0;
        Assert.Equal(expected, builder.Exemplars(0));
        Assert.Equal(3, builder.Exemplars(0)[0]); // "why is the sky blue on a clear day"
        builder.Exemplars(1);
        Assert.Equal(Docs.Count, embedder.Calls); // every question embedded once, whatever the number of prompts

        // A remote model has no hidden states: the task says what it needs.
        var e = Assert.Throws<InvalidInputException>(() => new PromptBuilder(Task(FewShotSelection.Embedding, FewShotSelection.Given, 2), Docs, null, 1));
        Assert.Contains("fewshot.selection embedding needs a model whose hidden states can be read", e.Message);
    }

    [Fact]
    public void A_checkpoint_embeds_text_from_its_hidden_states_as_unit_vectors()
    {
        SharpLM.Tests.Server.TinyServed.Char(out var tokenizer, out var gpt);
        var model = new SharpLM.Evaluation.Models.CheckpointModel(gpt, tokenizer, TorchSharp.torch.CPU, "tiny");
        float[] a = model.Embed("the quick brown fox"), b = model.Embed("the quick brown fox"), c = model.Embed("lazy dog");
        Assert.Equal(gpt.Config.NEmbd, a.Length);
        Assert.Equal(1.0, SharpLM.Inference.TextEmbedder.Cosine(a, a), 5);
        Assert.Equal(a, b);
        Assert.True(SharpLM.Inference.TextEmbedder.Cosine(a, c) < 0.9999);
    }

    [Fact]
    public void Similar_last_puts_the_closest_exemplar_right_before_the_question()
    {
        var nearest = new PromptBuilder(Task(FewShotSelection.Bm25, FewShotSelection.SimilarLast, 2), Docs, null, 1);
        Assert.Equal([2, 3], nearest.Exemplars(0));
        // With random selection the draws are reordered by similarity too: a question sharing nothing comes first.
        var drawn = new PromptBuilder(Task(FewShotSelection.Random, FewShotSelection.SimilarLast, 5), Docs, null, 7).Exemplars(0);
        Assert.Equal([1, 2, 3, 4, 5], drawn.Order());
        Assert.Equal(3, drawn[^1]);
        Assert.Equal(2, drawn[^2]);
    }

    [Fact]
    public void Mmr_selection_trades_a_near_duplicate_for_a_different_neighbour()
    {
        string[] questions =
        [
            "how tall is the eiffel tower in paris",    // 0: the query
            "how tall is the eiffel tower",             // 1: nearest
            "how tall is the eiffel tower today",       // 2: nearly a copy of 1
            "what museums are in paris",                // 3: related, different
        ];
        var docs = questions.Select((q, i) => JsonDocument.Parse(JsonSerializer.Serialize(new { q, a = i.ToString() })).RootElement).ToList();
        TaskConfig Mmr(double lambda) => Task(FewShotSelection.Mmr, FewShotSelection.Given, 2) with { Fewshot = new FewShotSpec { Num = 2, Selection = FewShotSelection.Mmr, MmrLambda = lambda } };
        Assert.Equal([1, 2], new PromptBuilder(Task(FewShotSelection.Bm25, FewShotSelection.Given, 2), docs, null, 1).Exemplars(0));
        Assert.Equal([1, 2], new PromptBuilder(Mmr(1.0), docs, null, 1).Exemplars(0)); // λ = 1 is relevance alone
        Assert.Equal([1, 3], new PromptBuilder(Mmr(0.5), docs, null, 1).Exemplars(0));
    }

    [Fact]
    public void Random_order_is_a_seeded_permutation_of_the_selection()
    {
        var given = new PromptBuilder(Task(FewShotSelection.Random, FewShotSelection.Given, 4), Docs, null, 3);
        var shuffled = new PromptBuilder(Task(FewShotSelection.Random, FewShotSelection.Random, 4), Docs, null, 3);
        for (int i = 0; i < Docs.Count; i++)
        {
            Assert.Equal(given.Exemplars(i).Order(), shuffled.Exemplars(i).Order());
            Assert.Equal(shuffled.Exemplars(i), new PromptBuilder(Task(FewShotSelection.Random, FewShotSelection.Random, 4), Docs, null, 3).Exemplars(i));
        }
        Assert.Contains(Enumerable.Range(0, Docs.Count), i => !given.Exemplars(i).SequenceEqual(shuffled.Exemplars(i)));
    }

    [Theory]
    [InlineData("selection: knn", "fewshot.selection: 'knn' is not one of random, bm25, embedding, mmr")]
    [InlineData("selection: mmr, mmr_lambda: 1.5", "fewshot.mmr_lambda: must be in [0, 1]")]
    [InlineData("order: reversed", "fewshot.order: 'reversed' is not one of given, random, similar_last")]
    public void Unknown_selections_and_orders_are_refused_on_load_naming_the_field(string field, string message)
    {
        using var dir = new TempDirectory();
        string path = dir.File("t.yaml");
        File.WriteAllText(path, "task: t\noutput_type: generate_until\ndataset: { path: x.jsonl }\ndoc_to_text: \"{{q}}\"\ndoc_to_target: \"{{a}}\"\nfewshot: { num: 2, " + field + " }\n");
        var e = Assert.Throws<InvalidInputException>(() => TaskConfig.Load(path));
        Assert.Equal($"{path}: {message}", e.Message);
    }
}
