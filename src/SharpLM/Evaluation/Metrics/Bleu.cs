using System.Globalization;

namespace SharpLM.Evaluation.Metrics;

/// <summary>BLEU's smoothing methods (Chen &amp; Cherry 2014), as sacrebleu names them.</summary>
public enum BleuSmoothing
{
    /// <summary>"none": a zero n-gram precision makes the score zero.</summary>
    None,
    /// <summary>"floor" (method 1): a zero match count is replaced by a small value (default 0.1).</summary>
    Floor,
    /// <summary>"add-k" (method 2): k (default 1) is added to matches and totals of orders 2 and up.</summary>
    AddK,
    /// <summary>"exp" (method 3, mteval-v13a's NIST smoothing): the k-th zero precision becomes 1 / (2^k · total).</summary>
    Exp,
}

/// <summary>sacrebleu's <c>BLEU(...)</c> arguments. The defaults are sacrebleu's <c>corpus_bleu</c> defaults.</summary>
public sealed record BleuOptions
{
    /// <summary>How segments are split into tokens before n-grams are counted; 13a by default.</summary>
    public BleuTokenizer Tokenizer { get; init; } = BleuTokenizer.Mteval13a;
    /// <summary>Lowercase hypotheses and references first (sacrebleu's <c>lowercase=True</c>, case "lc" in the signature).</summary>
    public bool Lowercase { get; init; }
    /// <summary>How zero n-gram precisions are smoothed; exp by default.</summary>
    public BleuSmoothing Smoothing { get; init; } = BleuSmoothing.Exp;
    /// <summary>floor's value or add-k's k; null takes sacrebleu's default (0.1 and 1). Ignored by exp and none.</summary>
    public double? SmoothValue { get; init; }
    /// <summary>The highest n-gram order counted (BLEU-4 by default); at least 1.</summary>
    public int MaxNgramOrder { get; init; } = 4;
    /// <summary>Average only over the orders the hypothesis has n-grams of (needed for short sentences).</summary>
    public bool EffectiveOrder { get; init; }

    /// <summary>sacrebleu's <c>corpus_bleu</c> defaults: 13a, exp smoothing, mixed case, no effective order.</summary>
    public static BleuOptions CorpusDefault { get; } = new();

    /// <summary>sacrebleu's <c>sentence_bleu</c> defaults: as corpus, but with effective order.</summary>
    public static BleuOptions SentenceDefault { get; } = new() { EffectiveOrder = true };

    /// <summary>sacrebleu's <c>raw_corpus_bleu</c>: untokenized, floor smoothing, effective order.</summary>
    public static BleuOptions Raw(double? smoothValue = 0.1) => new()
    {
        Tokenizer = BleuTokenizer.None, Smoothing = BleuSmoothing.Floor, SmoothValue = smoothValue, EffectiveOrder = true,
    };

    /// <summary>The metric's part of sacrebleu's <c>BLEUSignature</c>; floor and add-k show their value, e.g. <c>floor[0.10]</c>.</summary>
    internal (string, string)[] SignatureFields()
    {
        string smooth = Bleu.SmoothingName(Smoothing);
        if (Bleu.DefaultSmoothValue(Smoothing) is double fallback)
            smooth += $"[{(SmoothValue ?? fallback).ToString("F2", CultureInfo.InvariantCulture)}]";
        return [("case", Lowercase ? "lc" : "mixed"), ("eff", SacrebleuSignature.YesNo(EffectiveOrder)),
                ("tok", Tokenizer.Name), ("smooth", smooth)];
    }
}

/// <summary>
/// A BLEU score and its parts, as sacrebleu's <c>BLEUScore</c>: matched and total n-grams per order, the
/// precisions (in percent), the brevity penalty and the system and (closest) reference lengths. Counts and totals
/// are the statistics as counted; sacrebleu's add-k smoothing also adds its k into the lists it returns.
/// </summary>
public sealed record BleuScore(
    double Score, IReadOnlyList<int> Counts, IReadOnlyList<int> Totals, IReadOnlyList<double> Precisions,
    double BrevityPenalty, int SysLen, int RefLen)
{
    /// <summary>Hypothesis length over reference length (<c>SysLen / RefLen</c>); 0 when the references are empty.</summary>
    public double Ratio => RefLen > 0 ? (double)SysLen / RefLen : 0;

    /// <summary>sacrebleu's signature; null for a score computed from bare statistics, where nrefs is unknown.</summary>
    public string? Signature { get; init; }

    /// <summary>sacrebleu's rendering: <c>BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"BLEU = {Score:F2} {string.Join('/', Precisions.Select(p => p.ToString("F1", CultureInfo.InvariantCulture)))} " +
        $"(BP = {BrevityPenalty:F3} ratio = {Ratio:F3} hyp_len = {SysLen} ref_len = {RefLen})");
}

/// <summary>
/// BLEU (Papineni et al. 2002) exactly as sacrebleu 2.x computes it (<c>sacrebleu/metrics/bleu.py</c>): n-gram
/// matches clipped by the largest count in any reference, the closest reference length (ties to the shorter) for
/// the brevity penalty, statistics summed over the corpus before the score is taken.
/// </summary>
public static class Bleu
{
    /// <summary>
    /// Corpus BLEU in sacrebleu's layout: <paramref name="referenceStreams"/>[r][i] is reference set r's
    /// reference for hypothesis i (null where that set has none for the segment).
    /// </summary>
    public static BleuScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string?>> referenceStreams,
        BleuOptions? options = null)
    {
        options ??= BleuOptions.CorpusDefault;
        Validate(options);
        var (segments, nrefs) = SacrebleuReferences.BySegment(hypotheses.Count, referenceStreams);
        var total = new BleuStatistics(options.MaxNgramOrder);
        for (int i = 0; i < hypotheses.Count; i++)
        {
            var references = BleuReferences.Merge(segments[i].Select(r => BleuSegment.Extract(r, options)));
            total.Add(BleuStatistics.Of(BleuSegment.Extract(hypotheses[i], options), references));
        }
        return Score(total, options) with { Signature = SacrebleuSignature.Format(nrefs, options.SignatureFields()) };
    }

    /// <summary>
    /// Sentence BLEU against one or more references. Without options it uses sacrebleu's <c>sentence_bleu</c>
    /// defaults, which turn on effective order.
    /// </summary>
    public static BleuScore Sentence(string hypothesis, IReadOnlyList<string> references, BleuOptions? options = null) =>
        Corpus([hypothesis], SacrebleuReferences.OfSentence(references), options ?? BleuOptions.SentenceDefault);

    /// <summary>
    /// The score from sufficient statistics (sacrebleu's <c>BLEU.compute_bleu</c>, whose default smoothing is
    /// none): <paramref name="correct"/>[n-1] matched and <paramref name="total"/>[n-1] hypothesis n-grams of
    /// order n, up to the maximum order.
    /// </summary>
    public static BleuScore FromStatistics(IReadOnlyList<int> correct, IReadOnlyList<int> total, int sysLen, int refLen,
        BleuSmoothing smoothing = BleuSmoothing.None, double? smoothValue = null, bool effectiveOrder = false)
    {
        if (correct.Count != total.Count || correct.Count == 0)
            throw new ArgumentException("correct and total need one count per n-gram order, and at least one order");
        int maxOrder = correct.Count;
        double smooth = smoothValue ?? DefaultSmoothValue(smoothing) ?? 0;

        // Brevity penalty
        double bp = sysLen < refLen ? (sysLen > 0 ? Math.Exp(1 - (double)refLen / sysLen) : 0.0) : 1.0;
        var precisions = new double[maxOrder];

        // sacrebleu returns 0 straight away when nothing matched, whatever the smoothing (its issue #141).
        if (correct.All(c => c == 0)) return new BleuScore(0.0, [.. correct], [.. total], precisions, bp, sysLen, refLen);

        double smoothMteval = 1.0;
        int effOrder = maxOrder;
        for (int n = 1; n <= maxOrder; n++)
        {
            double matched = correct[n - 1], count = total[n - 1];
            if (smoothing == BleuSmoothing.AddK && n > 1)
            {
                matched += smooth;
                count += smooth;
            }
            if (count == 0) break;
            if (effectiveOrder) effOrder = n;

            if (matched == 0)
            {
                if (smoothing == BleuSmoothing.Exp)
                {
                    smoothMteval *= 2;
                    precisions[n - 1] = 100.0 / (smoothMteval * count);
                }
                else if (smoothing == BleuSmoothing.Floor)
                    precisions[n - 1] = 100.0 * smooth / count;
            }
            else precisions[n - 1] = 100.0 * matched / count;
        }

        // Orders after a break (or unsmoothed zeros) keep precision 0, which sacrebleu's my_log maps to a huge
        // negative number rather than -inf, so the score underflows to 0.
        double logSum = 0;
        for (int n = 0; n < effOrder; n++) logSum += precisions[n] == 0.0 ? -9999999999 : Math.Log(precisions[n]);
        return new BleuScore(bp * Math.Exp(logSum / effOrder), [.. correct], [.. total], precisions, bp, sysLen, refLen);
    }

    internal static BleuScore Score(BleuStatistics stats, BleuOptions options) => FromStatistics(
        stats.Correct, stats.Total, stats.SysLen, stats.RefLen, options.Smoothing, options.SmoothValue, options.EffectiveOrder);

    internal static void Validate(BleuOptions options)
    {
        if (options.MaxNgramOrder < 1)
            throw new ArgumentException($"MaxNgramOrder must be at least 1, got {options.MaxNgramOrder}", nameof(options));
    }

    /// <summary>sacrebleu's <c>BLEU.SMOOTH_DEFAULTS</c>.</summary>
    internal static double? DefaultSmoothValue(BleuSmoothing smoothing) => smoothing switch
    {
        BleuSmoothing.Floor => 0.1,
        BleuSmoothing.AddK => 1,
        _ => null,
    };

    internal static string SmoothingName(BleuSmoothing smoothing) => smoothing switch
    {
        BleuSmoothing.None => "none",
        BleuSmoothing.Floor => "floor",
        BleuSmoothing.AddK => "add-k",
        BleuSmoothing.Exp => "exp",
        _ => throw new ArgumentOutOfRangeException(nameof(smoothing)),
    };
}

/// <summary>One segment after BLEU's preprocessing: its n-gram counts by order and its length in tokens.</summary>
internal sealed record BleuSegment(Dictionary<string, int>[] NGrams, int Length)
{
    /// <summary>sacrebleu's <c>_preprocess_segment</c> (lowercase, then tokenize the right-stripped line) and n-gram extraction.</summary>
    public static BleuSegment Extract(string text, BleuOptions options)
    {
        if (options.Lowercase) text = PythonText.Lower(text);
        var tokens = PythonText.Split(options.Tokenizer.Tokenize(PythonText.RStrip(text)));
        return new BleuSegment(SacrebleuNGrams.AllOfWords(tokens, options.MaxNgramOrder), tokens.Count);
    }
}

/// <summary>A segment's references for BLEU: each n-gram's largest count in any of them, and their lengths.</summary>
internal sealed record BleuReferences(Dictionary<string, int>[] MaxCounts, List<int> Lengths)
{
    public static BleuReferences Merge(IEnumerable<BleuSegment> references)
    {
        Dictionary<string, int>[]? maxCounts = null;
        var lengths = new List<int>();
        foreach (var reference in references)
        {
            lengths.Add(reference.Length);
            if (maxCounts is null)
            {
                maxCounts = [.. reference.NGrams.Select(order => new Dictionary<string, int>(order, StringComparer.Ordinal))];
                continue;
            }
            for (int n = 0; n < maxCounts.Length; n++)
                foreach (var (ngram, count) in reference.NGrams[n])
                    maxCounts[n][ngram] = Math.Max(maxCounts[n].GetValueOrDefault(ngram), count);
        }
        return new BleuReferences(maxCounts ?? throw new ArgumentException("a segment needs at least one reference"), lengths);
    }

    /// <summary>sacrebleu's <c>_get_closest_ref_len</c>: the reference length nearest the hypothesis', the shorter on a tie.</summary>
    public int ClosestLength(int hypothesisLength)
    {
        int best = Lengths[0];
        foreach (int length in Lengths)
        {
            int diff = Math.Abs(hypothesisLength - length), bestDiff = Math.Abs(hypothesisLength - best);
            if (diff < bestDiff || (diff == bestDiff && length < best)) best = length;
        }
        return best;
    }
}

/// <summary>BLEU's sufficient statistics, which add up over segments: lengths and per-order matched / total n-grams.</summary>
internal sealed class BleuStatistics(int maxOrder)
{
    public int SysLen { get; private set; }
    public int RefLen { get; private set; }
    public int[] Correct { get; } = new int[maxOrder];
    public int[] Total { get; } = new int[maxOrder];

    /// <summary>sacrebleu's <c>_compute_segment_statistics</c>: each hypothesis n-gram matches up to its clipped reference count.</summary>
    public static BleuStatistics Of(BleuSegment hypothesis, BleuReferences references)
    {
        var stats = new BleuStatistics(hypothesis.NGrams.Length)
        {
            SysLen = hypothesis.Length, RefLen = references.ClosestLength(hypothesis.Length),
        };
        for (int n = 0; n < hypothesis.NGrams.Length; n++)
            foreach (var (ngram, count) in hypothesis.NGrams[n])
            {
                stats.Total[n] += count;
                stats.Correct[n] += Math.Min(count, references.MaxCounts[n].GetValueOrDefault(ngram));
            }
        return stats;
    }

    public void Add(BleuStatistics other)
    {
        SysLen += other.SysLen;
        RefLen += other.RefLen;
        for (int n = 0; n < Correct.Length; n++)
        {
            Correct[n] += other.Correct[n];
            Total[n] += other.Total[n];
        }
    }
}
