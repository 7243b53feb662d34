using SharpLM.Modeling;
using SharpLM.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Inference;

/// <summary>What a speculative run did: how many draft tokens were proposed and how many the target accepted.</summary>
/// <param name="Drafted">Tokens the draft model proposed.</param>
/// <param name="Accepted">Of those, the ones the target kept.</param>
/// <param name="TargetPasses">Forward passes of the target model (each verifies a whole block of drafts).</param>
public sealed record SpeculativeStats(long Drafted, long Accepted, long TargetPasses)
{
    /// <summary>Accepted ÷ drafted: how often the draft guessed what the target would have produced.</summary>
    public double AcceptanceRate => Drafted == 0 ? 0 : (double)Accepted / Drafted;
}

/// <summary>
/// Speculative decoding (Leviathan et al. 2023; Chen et al. 2023): a small draft model proposes
/// <see cref="Lookahead"/> tokens one at a time, and the target model checks all of them in one forward pass. Draft
/// token x is kept with probability min(1, p(x) / q(x)) (p the target's distribution, q the draft's); at the first
/// rejection a token is drawn from norm(max(0, p − q)) instead, and when every draft is kept the target's own next
/// token comes for free. The output has exactly the target's distribution — greedily, exactly the target's greedy
/// tokens — while the target runs once per accepted block instead of once per token. Both models keep a KV cache,
/// rewound past rejected drafts (<see cref="KvCache.Truncate"/>).
/// </summary>
public sealed class SpeculativeDecoder
{
    readonly Gpt target, draft;
    readonly Device device;

    /// <summary>Draft tokens proposed per target pass.</summary>
    public int Lookahead { get; }

    /// <summary>What the last <see cref="GenerateTokens"/> call did (complete once its enumeration ends).</summary>
    public SpeculativeStats Stats { get; private set; } = new(0, 0, 0);

    /// <summary>A decoder of <paramref name="target"/> helped by <paramref name="draft"/>, which must read the same token ids.</summary>
    /// <exception cref="InvalidInputException">The vocabularies differ, a model mixes previous tokens' embeddings (its
    /// cache cannot be rewound), or the lookahead is not 1–16.</exception>
    public SpeculativeDecoder(Gpt target, Gpt draft, Device device, int lookahead = 4)
    {
        if (target.Config.VocabSize != draft.Config.VocabSize)
            throw new InvalidInputException($"draft model: vocabulary of {draft.Config.VocabSize} tokens, but the target's has {target.Config.VocabSize}; both must read the same token ids");
        if (target.Config.TokenShift != 0 || draft.Config.TokenShift != 0)
            throw new InvalidInputException("speculative decoding needs caches it can rewind; token_shift models cannot be rewound");
        if (lookahead is < 1 or > 16) throw new InvalidInputException($"lookahead {lookahead}: must be 1 to 16 draft tokens per step");
        (this.target, this.draft, this.device, Lookahead) = (target, draft, device, lookahead);
    }

    /// <summary>
    /// New tokens after <paramref name="prompt"/>, at most <see cref="SamplingOptions.MaxNewTokens"/>, ending at
    /// <paramref name="endOfText"/> or when the shorter context of the two models is full. Greedy at temperature 0,
    /// else sampled at <see cref="SamplingOptions.Temperature"/> with <see cref="SamplingOptions.Seed"/>.
    /// </summary>
    /// <exception cref="InvalidInputException">A repetition penalty, or top-k / top-p when sampling: the acceptance rule
    /// is defined on the plain (tempered) distributions here.</exception>
    public IEnumerable<int> GenerateTokens(IReadOnlyList<int> prompt, SamplingOptions options, int? endOfText = null, CancellationToken cancellation = default)
    {
        options.Validate();
        // Greedy decoding ignores top-k and top-p; sampling uses the plain tempered distributions of both models.
        if (options.RepetitionPenalty != 1 || options.Temperature > 0 && (options.TopK != 0 || options.TopP < 1))
            throw new InvalidInputException("speculative decoding samples from the tempered distribution only: set --top-k 0 and --top-p 1 (or --temperature 0), and no repetition penalty");
        if (prompt.Count == 0) throw new InvalidInputException("prompt: must encode to at least one token");
        int context = Math.Min(target.Config.BlockSize, draft.Config.BlockSize);
        if (prompt.Count > context) throw new InvalidInputException($"prompt: {prompt.Count} tokens do not fit the {context}-token context");
        target.eval();
        draft.eval();
        var random = new SplitMix64(options.Seed);
        long drafted = 0, accepted = 0, passes = 0;
        using var targetCache = (KvCache)target.NewDecodingState(1, device);
        using var draftCache = (KvCache)draft.NewDecodingState(1, device);
        // Invariant: both caches hold every token so far except the last, which is fed next.
        if (prompt.Count > 1)
            using (var scope = NewDisposeScope())
            using (inference_mode())
            {
                var head = Ids(prompt.Take(prompt.Count - 1).ToList());
                target.Decode(head, targetCache);
                draft.Decode(head, draftCache);
            }
        int last = prompt[^1], length = prompt.Count, produced = 0;
        try
        {
            while (produced < options.MaxNewTokens && length < context)
            {
                cancellation.ThrowIfCancellationRequested();
                // Drafts fit the budget and the context: the target also needs room for the token after them.
                int k = Math.Min(Lookahead, Math.Min(options.MaxNewTokens - produced - 1, context - length - 1));
                k = Math.Max(0, k);
                var drafts = new int[k];
                var q = new double[k][];
                using (var scope = NewDisposeScope())
                using (inference_mode())
                {
                    int current = last;
                    for (int j = 0; j < k; j++)
                    {
                        q[j] = Distribution(draft.Decode(Ids([current]), draftCache)[0, -1], options.Temperature);
                        drafts[j] = Pick(q[j], options.Temperature, random);
                        current = drafts[j];
                    }
                }
                double[][] p;
                using (var scope = NewDisposeScope())
                using (inference_mode())
                {
                    var logits = target.Decode(Ids([last, .. drafts]), targetCache)[0];
                    p = Enumerable.Range(0, k + 1).Select(i => Distribution(logits[i], options.Temperature)).ToArray();
                }
                passes++;
                drafted += k;

                int kept = 0, next = -1;
                for (; kept < k; kept++)
                {
                    int x = drafts[kept];
                    bool keep = options.Temperature == 0
                        ? ArgMax(p[kept]) == x
                        : Uniform(random) < Math.Min(1, p[kept][x] / q[kept][x]);
                    if (!keep)
                    {
                        next = options.Temperature == 0 ? ArgMax(p[kept]) : Residual(p[kept], q[kept], random);
                        break;
                    }
                }
                if (next < 0) next = Pick(p[k], options.Temperature, random); // every draft kept: the target's next token is free
                accepted += kept;

                // Rewind both caches to "everything but the new last token": the target fed last and the k drafts,
                // the draft fed last and the first k − 1 drafts (and, when all were kept, still lacks the k-th).
                targetCache.Truncate(length + kept);
                if (draftCache.Length > length + kept) draftCache.Truncate(length + kept);
                else if (draftCache.Length < length + kept)
                    using (var scope = NewDisposeScope())
                    using (inference_mode())
                        draft.Decode(Ids([k == 0 ? last : drafts[k - 1]]), draftCache);

                foreach (int token in drafts.Take(kept).Append(next))
                {
                    if (token == endOfText) yield break;
                    produced++;
                    length++;
                    yield return token;
                    if (produced == options.MaxNewTokens) yield break;
                }
                last = next;
            }
        }
        finally
        {
            Stats = new SpeculativeStats(drafted, accepted, passes);
        }
    }

    Tensor Ids(IReadOnlyList<int> tokens) => tensor(tokens.Select(t => (long)t).ToArray(), dtype: ScalarType.Int64, device: device).unsqueeze(0);

    /// <summary>The tempered distribution of one position's logits (one-hot at the argmax when greedy).</summary>
    static double[] Distribution(Tensor logits, double temperature)
    {
        float[] l = logits.to(ScalarType.Float32).cpu().data<float>().ToArray();
        var probs = new double[l.Length];
        if (temperature == 0)
        {
            probs[ArgMax(l)] = 1;
            return probs;
        }
        double max = l.Max(), sum = 0;
        for (int i = 0; i < l.Length; i++) sum += probs[i] = Math.Exp((l[i] - max) / temperature);
        for (int i = 0; i < l.Length; i++) probs[i] /= sum;
        return probs;
    }

    static int Pick(double[] probs, double temperature, SplitMix64 random) => temperature == 0 ? ArgMax(probs) : Draw(probs, probs.Sum(), random);

    /// <summary>A draw from norm(max(0, p − q)): the correction that keeps the output distributed as p.</summary>
    static int Residual(double[] p, double[] q, SplitMix64 random)
    {
        var r = p.Zip(q, (a, b) => Math.Max(0, a - b)).ToArray();
        double sum = r.Sum();
        return sum > 0 ? Draw(r, sum, random) : Draw(p, p.Sum(), random);
    }

    static int Draw(double[] weights, double sum, SplitMix64 random)
    {
        double u = Uniform(random) * sum;
        for (int i = 0; i < weights.Length; i++)
        {
            u -= weights[i];
            if (u <= 0 && weights[i] > 0) return i;
        }
        return Array.FindLastIndex(weights, w => w > 0);
    }

    static double Uniform(SplitMix64 random) => (random.Next() >> 11) * (1.0 / (1UL << 53));

    static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    static int ArgMax(IReadOnlyList<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
