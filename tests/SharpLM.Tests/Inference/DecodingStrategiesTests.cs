using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Tests.Inference;

public class DecodingStrategiesTests
{
    // Larger weights than GPT-2's init give peaked distributions: no near-ties for float noise to flip.
    static Gpt Model(int vocab, int layers, int width, int seed, double std = 0.4)
    {
        manual_seed(seed);
        var model = new Gpt(new ModelConfig { VocabSize = vocab, BlockSize = 96, NLayer = layers, NHead = 2, NEmbd = width, InitStd = std, PositionEncoding = "rope" });
        model.eval();
        return model;
    }

    static double[] LogProbs(LanguageModel model, IReadOnlyList<int> tokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(tokens.Select(t => (long)t).ToArray()).reshape(1, tokens.Count);
        return model.forward(ids)[0, -1].log_softmax(-1).to(ScalarType.Float64).data<double>().ToArray();
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(2.0)]
    public void Beam_search_wide_enough_for_every_sequence_finds_the_exhaustive_optimum(double lengthPenalty)
    {
        const int vocab = 4, eos = 3, depth = 4;
        var model = Model(vocab, 1, 16, seed: 5, std: 0.6);
        int[] prompt = [0, 2, 1];
        // Every output: ended by the end-of-text token at any step, or running the full depth without it.
        var best = (Tokens: new List<int>(), Score: double.NegativeInfinity);
        void Visit(List<int> tokens, double logP)
        {
            double[] next = LogProbs(model, [.. prompt, .. tokens]);
            for (int t = 0; t < vocab; t++)
            {
                var extended = new List<int>(tokens) { t };
                double lp = logP + next[t];
                if (t == eos || extended.Count == depth)
                {
                    double score = lp / Math.Pow(extended.Count, lengthPenalty);
                    if (score > best.Score) best = (extended, score);
                }
                else Visit(extended, lp);
            }
        }
        Visit([], 0);
        var found = BeamSearch.Search(model, prompt, new BeamSearchOptions { Width = 256, MaxNewTokens = depth, LengthPenalty = lengthPenalty }, eos, CPU);
        Assert.Equal(best.Tokens, found[0].Tokens);
        Assert.Equal(best.Score, found[0].Score, 4);
        // The scores are ordered, and a narrow beam never beats the exhaustive optimum.
        Assert.True(found.Zip(found.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        var narrow = BeamSearch.Search(model, prompt, new BeamSearchOptions { Width = 2, MaxNewTokens = depth, LengthPenalty = lengthPenalty }, eos, CPU);
        Assert.True(narrow[0].Score <= best.Score + 1e-6);
    }

    [Fact]
    public void Beam_search_of_width_one_is_greedy_decoding()
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        var model = Model(tokenizer.VocabSize, 2, 32, seed: 6);
        int[] prompt = tokenizer.Encode("the quick");
        var greedy = new Generator(model, tokenizer, CPU).GenerateTokens(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 20 }).ToList();
        var beam = BeamSearch.Search(model, prompt, new BeamSearchOptions { Width = 1, MaxNewTokens = 20 }, null, CPU);
        Assert.Equal(greedy, beam[0].Tokens);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void Speculative_greedy_decoding_gives_exactly_the_target_models_greedy_tokens(int lookahead)
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        var target = Model(tokenizer.VocabSize, 2, 64, seed: 7);
        var draft = Model(tokenizer.VocabSize, 1, 32, seed: 8);
        int[] prompt = tokenizer.Encode("the lazy dog");
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 60 };
        var plain = new Generator(target, tokenizer, CPU).GenerateTokens(prompt, options).ToList();
        var speculative = new SpeculativeDecoder(target, draft, CPU, lookahead);
        Assert.Equal(plain, speculative.GenerateTokens(prompt, options).ToList());
        Assert.True(speculative.Stats.TargetPasses < 60 || lookahead == 1);
        // A draft identical to the target is always right.
        var self = new SpeculativeDecoder(target, target, CPU, lookahead);
        Assert.Equal(plain, self.GenerateTokens(prompt, options).ToList());
        Assert.Equal(1.0, self.Stats.AcceptanceRate);
    }

    [Fact]
    public void Speculative_sampling_keeps_the_target_models_distribution()
    {
        // Leviathan et al.'s rule: accept a draft token with min(1, p/q), else draw from max(0, p − q). The first new
        // token (proposed by the draft, then checked) must be distributed as the target says, not as the draft does.
        const int vocab = 5, runs = 4000;
        var target = Model(vocab, 1, 16, seed: 9, std: 0.5);
        var draft = Model(vocab, 1, 16, seed: 10, std: 0.5);
        int[] prompt = [1, 4, 2];
        double[] p = LogProbs(target, prompt).Select(Math.Exp).ToArray(), q = LogProbs(draft, prompt).Select(Math.Exp).ToArray();
        Assert.True(p.Zip(q, (a, b) => Math.Abs(a - b)).Max() > 0.1, "the draft must disagree with the target for the test to mean anything");
        var counts = new int[vocab];
        var decoder = new SpeculativeDecoder(target, draft, CPU, lookahead: 1);
        for (int seed = 0; seed < runs; seed++)
            counts[decoder.GenerateTokens(prompt, new SamplingOptions { Temperature = 1, MaxNewTokens = 2, Seed = (ulong)seed }).First()]++;
        for (int t = 0; t < vocab; t++)
            Assert.True(Math.Abs((double)counts[t] / runs - p[t]) < 0.03, $"token {t}: {counts[t] / (double)runs:F3} sampled, target {p[t]:F3}, draft {q[t]:F3}");
    }
}
