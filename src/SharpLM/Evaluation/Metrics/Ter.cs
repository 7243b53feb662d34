using System.Globalization;

namespace SharpLM.Evaluation.Metrics;

/// <summary>sacrebleu's <c>TER(...)</c> arguments, with its defaults.</summary>
public sealed record TerOptions
{
    /// <summary>Tokenize punctuation and unescape XML as tercom's normalizer does (and split CJK with <see cref="AsianSupport"/>).</summary>
    public bool Normalized { get; init; }
    /// <summary>Remove the punctuation . , ? : ; ! " ( ) (and CJK / full-width marks with <see cref="AsianSupport"/>).</summary>
    public bool NoPunctuation { get; init; }
    /// <summary>Treat CJK characters and punctuation specially; only matters with <see cref="Normalized"/> or <see cref="NoPunctuation"/>.</summary>
    public bool AsianSupport { get; init; }
    /// <summary>Compare words with their case; by default TER lowercases.</summary>
    public bool CaseSensitive { get; init; }

    /// <summary>The metric's part of sacrebleu's <c>TERSignature</c>.</summary>
    internal (string, string)[] SignatureFields() =>
    [
        ("case", CaseSensitive ? "mixed" : "lc"), ("tok", "tercom"), ("norm", SacrebleuSignature.YesNo(Normalized)),
        ("punct", SacrebleuSignature.YesNo(!NoPunctuation)), ("asian", SacrebleuSignature.YesNo(AsianSupport)),
    ];
}

/// <summary>A TER score in percent (lower is better): edits over the average reference length.</summary>
public sealed record TerScore(double Score, int NumEdits, double RefLength)
{
    /// <summary>sacrebleu's signature, e.g. <c>nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0</c>.</summary>
    public required string Signature { get; init; }

    /// <summary>sacrebleu's rendering, e.g. <c>TER = 41.18</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"TER = {Score:F2}");
}

/// <summary>
/// Translation Edit Rate (Snover et al. 2006) exactly as sacrebleu 2.x's <c>TER</c> (<c>sacrebleu/metrics/ter.py</c>):
/// per segment, the fewest edits (insertions, deletions, substitutions and block shifts) to turn the hypothesis
/// into any one of its references, and the average length of those references; corpus TER is total edits over
/// total average reference length.
/// </summary>
public static class Ter
{
    /// <summary>Corpus TER in sacrebleu's layout (see <see cref="Bleu.Corpus"/>).</summary>
    public static TerScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string?>> referenceStreams,
        TerOptions? options = null)
    {
        options ??= new TerOptions();
        var (segments, nrefs) = SacrebleuReferences.BySegment(hypotheses.Count, referenceStreams);
        int totalEdits = 0;
        double totalRefLength = 0;
        for (int i = 0; i < hypotheses.Count; i++)
        {
            var hypothesis = Words(hypotheses[i], options);
            int bestEdits = int.MaxValue, refLengths = 0;
            foreach (string reference in segments[i])
            {
                var (edits, refLength) = TranslationEditRate.Compute(hypothesis, Words(reference, options));
                refLengths += refLength;
                bestEdits = Math.Min(bestEdits, edits);
            }
            totalEdits += bestEdits;
            totalRefLength += (double)refLengths / segments[i].Count;
        }

        // sacrebleu's _compute_score_from_stats: an empty reference scores 100 against any word, 0 against nothing
        double score = totalRefLength > 0 ? totalEdits / totalRefLength : totalEdits > 0 ? 1.0 : 0.0;
        return new TerScore(100 * score, totalEdits, totalRefLength)
        {
            Signature = SacrebleuSignature.Format(nrefs, options.SignatureFields()),
        };
    }

    /// <summary>Sentence TER against one or more references.</summary>
    public static TerScore Sentence(string hypothesis, IReadOnlyList<string> references, TerOptions? options = null) =>
        Corpus([hypothesis], SacrebleuReferences.OfSentence(references), options);

    /// <summary>sacrebleu's <c>_preprocess_segment</c> (tercom tokenization of the right-stripped line), split into words.</summary>
    static List<string> Words(string text, TerOptions options) =>
        PythonText.Split(TercomTokenizer.Tokenize(PythonText.RStrip(text), options));
}
