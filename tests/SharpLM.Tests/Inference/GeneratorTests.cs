using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;

namespace SharpLM.Tests.Inference;

public class GeneratorTests
{
    static (Gpt, ITokenizer) Model()
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(3);
        return (new Gpt(TinyRuns.Model(tokenizer.VocabSize)), tokenizer);
    }

    [Theory]
    [InlineData(0.0, 0, 1.0, 1.0)]
    [InlineData(1.0, 0, 1.0, 1.0)]
    [InlineData(0.9, 5, 0.9, 1.3)]
    public void Cached_and_uncached_generation_produce_identical_tokens_even_past_the_context(double temperature, int topK, double topP, double penalty)
    {
        var (model, tokenizer) = Model();
        var generator = new Generator(model, tokenizer, torch.CPU);
        var prompt = tokenizer.Encode("the quick");
        var options = new SamplingOptions { MaxNewTokens = 40, Temperature = temperature, TopK = topK, TopP = topP, RepetitionPenalty = penalty, Seed = 11 };
        var cached = generator.GenerateTokens(prompt, options).ToList();
        var uncached = generator.GenerateTokens(prompt, options with { UseKvCache = false }).ToList();
        Assert.Equal(40, cached.Count); // 9 prompt + 40 new > block_size 16: the window slides
        Assert.Equal(uncached, cached);
    }

    [Fact]
    public void A_kv_cache_that_grows_past_its_first_allocation_gives_the_uncached_tokens()
    {
        // The cache starts at 256 positions and doubles: a 600-token context is crossed at 256 and 512.
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(4);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize) with { BlockSize = 600, NLayer = 1, PositionEncoding = "rope" });
        var generator = new Generator(model, tokenizer, torch.CPU);
        var options = new SamplingOptions { MaxNewTokens = 560, Temperature = 1.0, Seed = 2 };
        var cached = generator.GenerateTokens(tokenizer.Encode("the quick"), options).ToList();
        Assert.Equal(560, cached.Count);
        Assert.Equal(generator.GenerateTokens(tokenizer.Encode("the quick"), options with { UseKvCache = false }).ToList(), cached);
    }

    [Fact]
    public void Same_seed_same_text_different_seed_different_text()
    {
        var (model, tokenizer) = Model();
        var generator = new Generator(model, tokenizer, torch.CPU);
        var options = new SamplingOptions { MaxNewTokens = 30, Temperature = 1.5 };
        Assert.Equal(generator.Generate("the", options), generator.Generate("the", options));
        Assert.NotEqual(generator.Generate("the", options), generator.Generate("the", options with { Seed = 99 }));
    }

    [Fact]
    public void Top_k_of_one_and_a_tiny_nucleus_are_greedy()
    {
        var (model, tokenizer) = Model();
        var generator = new Generator(model, tokenizer, torch.CPU);
        var greedy = generator.Generate("fox", new SamplingOptions { MaxNewTokens = 20, Temperature = 0 });
        Assert.Equal(greedy, generator.Generate("fox", new SamplingOptions { MaxNewTokens = 20, Temperature = 1.0, TopK = 1 }));
        Assert.Equal(greedy, generator.Generate("fox", new SamplingOptions { MaxNewTokens = 20, Temperature = 1.0, TopP = 1e-9 }));
    }

    [Fact]
    public void Output_ends_before_the_first_stop_string_and_streams_the_same_text()
    {
        var (model, tokenizer) = Model();
        var generator = new Generator(model, tokenizer, torch.CPU);
        var free = generator.Generate("the", new SamplingOptions { MaxNewTokens = 40, Temperature = 1.2, Seed = 5 });
        string stop = free.Substring(10, 2);
        var stopped = generator.Generate("the", new SamplingOptions { MaxNewTokens = 40, Temperature = 1.2, Seed = 5, StopStrings = new[] { stop } });
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped);
    }

    [Fact]
    public void Top_k_samples_only_among_the_k_most_likely_tokens()
    {
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 5.0, TopK = 3, Seed = 2 });
        float[] logits = { 0.1f, 2f, -1f, 3f, 0.5f, 2.5f, 0f };
        var drawn = Enumerable.Range(0, 300).Select(_ => sampler.Next((float[])logits.Clone(), Array.Empty<int>())).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 3, 5 }, drawn); // a high temperature makes all three appear
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits()
    {
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 0, RepetitionPenalty = 2.0 });
        // Token 0 leads but was seen; after the penalty (3 → 1.5) token 1 (2.0) wins.
        Assert.Equal(1, sampler.Next(new[] { 3f, 2f, -1f }, new[] { 0 }));
        // A negative logit of a seen token gets more negative: -0.5 → -1, so unseen 2 (-0.9) wins.
        Assert.Equal(2, new TokenSampler(new SamplingOptions { Temperature = 0, RepetitionPenalty = 2.0 }).Next(new[] { -2f, -0.5f, -0.9f }, new[] { 1 }));
    }

    [Fact]
    public void Stop_prefix_before_an_incomplete_character_is_held_back()
    {
        // "…\n" then the first byte of "й": the \n may start the stop string "\nй", so nothing after "ab" is final.
        Assert.Equal(2, Generator.HeldBack("ab\n\uFFFD", new[] { "\nй" }));
        Assert.Equal(1, Generator.HeldBack("ab\uFFFD", new[] { "\nй" }));
        Assert.Equal(0, Generator.HeldBack("abc", new[] { "\nй" }));
        Assert.Equal(1, Generator.HeldBack("ab\n", new[] { "\nй" }));
    }

    /// <summary>The check as it was: every prefix of every stop string compared with the text's end (quadratic per token).</summary>
    static int NaiveHeldBack(string text, IReadOnlyList<string> stops)
    {
        int partial = 0;
        while (partial < text.Length && text[text.Length - 1 - partial] == '\uFFFD') partial++;
        string stable = text[..^partial];
        int hold = partial;
        foreach (string s in stops)
            for (int k = Math.Min(s.Length - 1, stable.Length); k > 0; k--)
                if (stable.EndsWith(s[..k], StringComparison.Ordinal)) { hold = Math.Max(hold, partial + k); break; }
        return hold;
    }

    [Fact]
    public void Stop_prefix_check_agrees_with_comparing_every_prefix()
    {
        var random = new Random(11);
        for (int i = 0; i < 5000; i++)
        {
            // A two-letter alphabet makes overlapping prefixes (the hard case for a linear matcher) common.
            string Word(int max) => string.Concat(Enumerable.Range(0, random.Next(1, max)).Select(_ => "ab\uFFFD"[random.Next(random.Next(8) == 0 ? 3 : 2)]));
            string text = random.Next(10) == 0 ? "" : Word(30);
            string[] stops = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Word(12).Replace("\uFFFD", "a")).ToArray();
            Assert.Equal(NaiveHeldBack(text, stops), Generator.HeldBack(text, stops));
        }
    }

    [Fact]
    public void Stop_prefix_check_reads_only_the_tail_of_a_long_text()
    {
        // A 1,000-character stop string none of whose prefixes ends the 100,000-character text: the old check
        // copied the text and then built and compared all 999 prefixes (~500,000 characters) per token.
        string stop = new string('a', 999) + "b";
        string text = new string('a', 100_000) + "c";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 2000; i++) Assert.Equal(0, Generator.HeldBack(text, [stop]));
        Console.WriteLine($"2000 checks of a 1,000-character stop string: {clock.Elapsed.TotalMilliseconds:0} ms");
        clock.Restart();
        for (int i = 0; i < 20; i++) Assert.Equal(0, NaiveHeldBack(text, [stop]));
        Console.WriteLine($"the old check, 20 times: {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(0, Generator.LongestPrefixAtEnd("xyz", stop));
        Assert.Equal(3, Generator.LongestPrefixAtEnd("xaaa", "aaab"));
    }

    [Fact]
    public void A_cancelled_generation_stops_before_the_next_token()
    {
        var (model, tokenizer) = Model();
        var generator = new Generator(model, tokenizer, torch.CPU);
        using var cancel = new CancellationTokenSource();
        int produced = 0;
        // Stop strings that hold all text back: cancellation must not depend on text being released.
        var options = new SamplingOptions { MaxNewTokens = 1000, Temperature = 1, StopStrings = [new string('q', 900)], Seed = 1 };
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (int _ in generator.GenerateTokens(tokenizer.Encode("the "), options, cancel.Token))
                if (++produced == 5) cancel.Cancel();
        });
        Assert.Equal(5, produced);
        Assert.ThrowsAny<OperationCanceledException>(() => generator.Stream("the ", options, cancel.Token).ToList());
    }
}
