using SharpLM.Inference;
using SharpLM.Inference.Batching;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Tests.Inference;

public class ContinuousBatcherTests
{
    static readonly string[] Prompts = ["the quick", "a", "lazy dog. the", "over the lazy dog. the quick brown", "fox", "jumps", "the lazy", "brown fox jumps over"];

    static (Gpt Model, CharTokenizer Tokenizer) Model(ModelConfig? config = null, int seed = 3)
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(seed);
        return (new Gpt(config ?? TinyRuns.Model(tokenizer.VocabSize) with { BlockSize = 96 }), tokenizer);
    }

    public static TheoryData<string> PositionVariants => ["learned", "rope-gqa", "sinusoidal", "window", "learned-window"];

    static ModelConfig Variant(string name, int vocab)
    {
        var config = TinyRuns.Model(vocab) with { BlockSize = 48, NHead = 4 };
        return name switch
        {
            "learned" => config,
            "rope-gqa" => config with { PositionEncoding = "rope", NKvHead = 2 },
            "sinusoidal" => config with { PositionEncoding = "sinusoidal" },
            "window" => config with { PositionEncoding = "rope", SlidingWindow = 5 },
            "learned-window" => config with { SlidingWindow = 6 },
            _ => throw new ArgumentException(name),
        };
    }

    [Theory]
    [MemberData(nameof(PositionVariants))]
    public void Each_slot_of_a_batched_pass_gets_the_logits_of_its_own_kv_cache(string variant)
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(5);
        var model = new Gpt(Variant(variant, tokenizer.VocabSize));
        model.eval();
        int[][] prompts = Prompts.Take(5).Select(p => tokenizer.Encode(p)).ToArray();
        using var slots = new SlotKvCache(model.Config, 7, CPU, ScalarType.Float32);
        // Slots 6, 2, 0, 5, 3: not in order, not contiguous, of different lengths; prompts in chunks of 4.
        int[] slotOf = [6, 2, 0, 5, 3];
        var caches = prompts.Select(_ => (KvCache)model.NewDecodingState(1, CPU)).ToArray();
        using var _ = inference_mode();
        var rng = new Random(1);
        for (int i = 0; i < prompts.Length; i++)
        {
            for (int at = 0; at < prompts[i].Length; at += 4)
            {
                var chunk = prompts[i].Skip(at).Take(4).Select(x => (long)x).ToArray();
                Tensor batched = model.DecodeSlots(tensor(chunk).view(1, -1), slots, [slotOf[i]]);
                Tensor alone = model.Decode(tensor(chunk).view(1, -1), caches[i])[.., -1];
                AssertClose(alone, batched);
            }
        }
        for (int step = 0; step < 20; step++)
        {
            // A different subset of the sequences advances each step, one token each.
            var rows = Enumerable.Range(0, prompts.Length).Where(_ => rng.NextDouble() < 0.7).ToArray();
            if (rows.Length == 0) continue;
            long[] next = rows.Select(_ => (long)rng.Next(tokenizer.VocabSize)).ToArray();
            Tensor batched = model.DecodeSlots(tensor(next).view(-1, 1), slots, rows.Select(r => slotOf[r]).ToArray());
            for (int j = 0; j < rows.Length; j++)
                AssertClose(model.Decode(tensor(new[] { next[j] }).view(1, 1), caches[rows[j]])[.., -1], batched[j..(j + 1)]);
        }
        foreach (var c in caches) c.Dispose();
    }

    static void AssertClose(Tensor expected, Tensor actual)
    {
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"largest logit difference {diff}");
    }

    static List<int> Alone(Gpt model, ITokenizer tokenizer, string prompt, SamplingOptions options) =>
        new Generator(model, tokenizer, CPU).GenerateTokens(tokenizer.Encode(prompt), options).ToList();

    static async Task<(List<int> Tokens, string Text, GenerationEnd End)> Collect(IAsyncEnumerable<GeneratedPiece> pieces)
    {
        var tokens = new List<int>();
        var text = new System.Text.StringBuilder();
        GenerationEnd? end = null;
        await foreach (var piece in pieces)
        {
            if (piece.Token is { } t) tokens.Add(t.Id);
            text.Append(piece.Text);
            end = piece.End ?? end;
        }
        return (tokens, text.ToString(), end!);
    }

    [Fact]
    public async Task Batched_greedy_decoding_gives_every_request_the_tokens_it_gets_alone()
    {
        var (model, tokenizer) = Model();
        // Small chunks, so long prompts are fed over several steps while other requests decode.
        using var batcher = new ContinuousBatcher(BatchDecoder.For(model, 4, CPU, prefillChunk: 5), tokenizer);
        var requests = Prompts.Select((p, i) => (Prompt: p, Options: new SamplingOptions { MaxNewTokens = 20 + 7 * i, Temperature = 0 })).ToArray();
        // Eight requests for four slots, arriving at different times: some wait, and join a batch already running.
        var running = new List<Task<(List<int> Tokens, string Text, GenerationEnd End)>>();
        foreach (var (prompt, options) in requests)
        {
            running.Add(Collect(batcher.GenerateAsync(new BatchRequest { Prompt = tokenizer.Encode(prompt), Sampling = options })));
            await Task.Delay(5);
        }
        var results = await Task.WhenAll(running);
        for (int i = 0; i < requests.Length; i++)
        {
            var expected = Alone(model, tokenizer, requests[i].Prompt, requests[i].Options);
            Assert.Equal(expected, results[i].Tokens);
            Assert.Equal(tokenizer.Decode(expected.ToArray()), results[i].Text);
            Assert.Equal(new GenerationEnd("length", tokenizer.Encode(requests[i].Prompt).Length, expected.Count), results[i].End);
        }
        Assert.True(batcher.Metrics.BatchedRows > batcher.Metrics.Steps, "steps decoded several sequences at once");
        Assert.Equal(requests.Length, batcher.Metrics.FinishedByReason["length"]);
    }

    [Fact]
    public async Task A_sampled_request_writes_the_same_text_whatever_shares_its_batch()
    {
        var (model, tokenizer) = Model();
        using var batcher = new ContinuousBatcher(BatchDecoder.For(model, 6, CPU), tokenizer);
        var request = new BatchRequest { Prompt = tokenizer.Encode("the quick"), Sampling = new SamplingOptions { MaxNewTokens = 40, Temperature = 1.0, TopP = 0.9, Seed = 17 } };
        var alone = await Collect(batcher.GenerateAsync(request));
        var crowd = Enumerable.Range(0, 5).Select(i => Collect(batcher.GenerateAsync(request with
        {
            Prompt = tokenizer.Encode(Prompts[i + 1]), Sampling = request.Sampling with { Seed = (ulong)i, MaxNewTokens = 10 + 9 * i },
        }))).ToList();
        var together = await Collect(batcher.GenerateAsync(request));
        await Task.WhenAll(crowd);
        Assert.Equal(alone.Tokens, together.Tokens);
        Assert.Equal(Alone(model, tokenizer, "the quick", request.Sampling), alone.Tokens);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_batch_and_its_slot_serves_the_next()
    {
        var (model, tokenizer) = Model(TinyRuns.Model(CharTokenizer.FromText(TinyRuns.Corpus).VocabSize) with { BlockSize = 4000 });
        using var batcher = new ContinuousBatcher(BatchDecoder.For(model, 1, CPU), tokenizer);
        using var cancel = new CancellationTokenSource();
        var endless = new BatchRequest { Prompt = tokenizer.Encode("the"), Sampling = new SamplingOptions { MaxNewTokens = 3900, Temperature = 0 } };
        int seen = 0;
        var first = Task.Run(async () =>
        {
            await foreach (var piece in batcher.GenerateAsync(endless, cancel.Token))
                if (++seen == 5) cancel.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        // One slot: the second request can only run once the first has left it.
        var second = await Collect(batcher.GenerateAsync(endless with { Sampling = endless.Sampling with { MaxNewTokens = 3 } }));
        Assert.Equal(3, second.Tokens.Count);
        Assert.True(batcher.Metrics.GeneratedTokens < 100, $"the cancelled request stopped ({batcher.Metrics.GeneratedTokens} tokens in all)");
        for (int i = 0; i < 100 && !batcher.Metrics.FinishedByReason.ContainsKey("cancelled"); i++) await Task.Delay(10);
        Assert.Equal(1, batcher.Metrics.FinishedByReason["cancelled"]);
    }

    [Fact]
    public async Task Stop_strings_and_stop_tokens_end_a_request_as_the_generator_ends_it()
    {
        var (model, tokenizer) = Model();
        using var batcher = new ContinuousBatcher(BatchDecoder.For(model, 3, CPU), tokenizer);
        var options = new SamplingOptions { MaxNewTokens = 60, Temperature = 0 };
        string free = new Generator(model, tokenizer, CPU).Generate("the quick", options);
        // A stop string taken from the middle of the free text, so it certainly occurs.
        string stop = free.Substring(12, 3);
        string expected = new Generator(model, tokenizer, CPU).Generate("the quick", options with { StopStrings = [stop] });
        var stopped = await Collect(batcher.GenerateAsync(new BatchRequest { Prompt = tokenizer.Encode("the quick"), Sampling = options with { StopStrings = [stop] } }));
        Assert.Equal(expected, stopped.Text);
        Assert.Equal("stop", stopped.End.Reason);

        int stopToken = Alone(model, tokenizer, "the quick", options)[7];
        var byToken = await Collect(batcher.GenerateAsync(new BatchRequest { Prompt = tokenizer.Encode("the quick"), Sampling = options, StopTokens = [stopToken] }));
        int cut = Alone(model, tokenizer, "the quick", options).IndexOf(stopToken);
        Assert.Equal(Alone(model, tokenizer, "the quick", options).Take(cut), byToken.Tokens);
        Assert.Equal(new GenerationEnd("stop", 9, cut), byToken.End);
    }

    [Fact]
    public async Task Log_probabilities_are_the_log_softmax_of_the_models_logits_with_the_best_alternatives_first()
    {
        var (model, tokenizer) = Model();
        using var batcher = new ContinuousBatcher(BatchDecoder.For(model, 2, CPU), tokenizer);
        var pieces = new List<GeneratedToken>();
        await foreach (var p in batcher.GenerateAsync(new BatchRequest
        {
            Prompt = tokenizer.Encode("the quick"), Sampling = new SamplingOptions { MaxNewTokens = 6, Temperature = 1, Seed = 3 }, TopLogprobs = 5,
        }))
            if (p.Token is { } t) pieces.Add(t);
        var context = tokenizer.Encode("the quick").ToList();
        model.eval();
        foreach (var token in pieces)
        {
            using var _ = inference_mode();
            Tensor logp = torch.nn.functional.log_softmax(model.forward(tensor(context.Select(x => (long)x).ToArray()).view(1, -1))[0, -1], 0);
            Assert.Equal(logp[token.Id].item<float>(), token.LogProbability!.Value, 4);
            Assert.Equal(5, token.Top!.Count);
            var (values, indices) = logp.topk(5);
            for (int k = 0; k < 5; k++)
            {
                Assert.Equal(tokenizer.Decode([(int)indices[k].item<long>()]), token.Top[k].Text);
                Assert.Equal(values[k].item<float>(), token.Top[k].LogProbability, 4);
            }
            context.Add(token.Id);
        }
    }

    [Fact]
    public async Task A_model_without_shared_passes_is_batched_one_sequence_at_a_time_with_the_same_tokens()
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(9);
        var lstm = LanguageModel.Create(TinyRuns.Model(tokenizer.VocabSize) with { Type = "lstm", BlockSize = 96 });
        var decoder = BatchDecoder.For(lstm, 3, CPU);
        Assert.False(decoder.SharesPasses);
        using var batcher = new ContinuousBatcher(decoder, tokenizer);
        var options = new SamplingOptions { MaxNewTokens = 25, Temperature = 0 };
        var results = await Task.WhenAll(Prompts.Take(4).Select(p => Collect(batcher.GenerateAsync(new BatchRequest { Prompt = tokenizer.Encode(p), Sampling = options }))));
        for (int i = 0; i < 4; i++)
            Assert.Equal(new Generator(lstm, tokenizer, CPU).GenerateTokens(tokenizer.Encode(Prompts[i]), options).ToList(), results[i].Tokens);
    }

    [Fact]
    public async Task Scoring_runs_between_steps_on_the_batchers_thread()
    {
        var (model, tokenizer) = Model();
        using var batcher = new ContinuousBatcher(BatchDecoder.For(model, 2, CPU), tokenizer);
        int? thread = await batcher.RunExclusiveAsync(() => (int?)Environment.CurrentManagedThreadId);
        Assert.NotEqual(Environment.CurrentManagedThreadId, thread);
        await Assert.ThrowsAsync<InvalidInputException>(() => batcher.RunExclusiveAsync<int>(() => throw new InvalidInputException("bad")));
    }

    [Fact]
    public void A_prompt_that_fills_the_context_is_refused_before_it_enters_the_batch()
    {
        var (model, tokenizer) = Model(TinyRuns.Model(CharTokenizer.FromText(TinyRuns.Corpus).VocabSize) with { BlockSize = 8 });
        using var batcher = new ContinuousBatcher(BatchDecoder.For(model, 2, CPU), tokenizer);
        var error = Assert.Throws<InvalidInputException>(() => batcher.GenerateAsync(new BatchRequest { Prompt = tokenizer.Encode("the quick brown") }).GetAsyncEnumerator().MoveNextAsync().AsTask().GetAwaiter().GetResult());
        Assert.Contains("8-token context", error.Message);
    }
}
