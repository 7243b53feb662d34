using System.Text;
using SharpLM.Data.Dedup;

namespace SharpLM.Data.Cleaning;

/// <summary>A language guess: ISO 639-1 code (or "unknown") and a confidence in [0, 1].</summary>
public sealed record LanguageGuess(string Language, double Confidence);

/// <summary>
/// Language identification without a downloaded model. First the script: text whose letters are mostly Han is
/// Chinese (confidence = Han share). Otherwise a stop-word classifier for English, German, French and Spanish:
/// the share of a language's most frequent function words among the document's words, turned into a confidence
/// by comparing the best language with the runner-up. Short or stop-word-free Latin text is "unknown".
/// </summary>
public static class LanguageIdentifier
{
    static readonly Dictionary<string, HashSet<string>> StopWords = new()
    {
        ["en"] = Set("the of and to a in is that it was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their"),
        ["de"] = Set("der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie"),
        ["fr"] = Set("le de la les et des en un une du est que dans qui pour pas au sur par plus il ne se ce sont avec ou son elle nous mais leur été aux cette"),
        ["es"] = Set("de la que el en y los del se las por un para con no una su al es lo como más pero sus le ya o este sí porque esta entre cuando muy sin sobre"),
    };

    static HashSet<string> Set(string words) => new(words.Split(' '), StringComparer.Ordinal);

    public static LanguageGuess Identify(string text)
    {
        int han = 0, letters = 0;
        foreach (Rune r in text.EnumerateRunes())
        {
            if (!Rune.IsLetter(r)) continue;
            letters++;
            if (Shingles.IsCjk(r) && r.Value is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF)) han++;
        }
        if (letters == 0) return new LanguageGuess("unknown", 0);
        double hanShare = (double)han / letters;
        if (hanShare > 0.5) return new LanguageGuess("zh", hanShare);

        var words = new List<string>();
        var current = new StringBuilder();
        foreach (char c in text)
        {
            if (char.IsLetter(c) || c == '\'') current.Append(char.ToLowerInvariant(c));
            else if (current.Length > 0) { words.Add(current.ToString()); current.Clear(); }
        }
        if (current.Length > 0) words.Add(current.ToString());
        if (words.Count < 5) return new LanguageGuess("unknown", 0);

        var scores = StopWords.ToDictionary(kv => kv.Key, kv => (double)words.Count(kv.Value.Contains) / words.Count);
        var ranked = scores.OrderByDescending(kv => kv.Value).ToList();
        var (best, bestScore) = (ranked[0].Key, ranked[0].Value);
        double second = ranked[1].Value;
        if (bestScore < 0.05) return new LanguageGuess("unknown", 0);
        // Ordinary prose is 30–50% function words; the margin over the runner-up says how sure the guess is.
        double confidence = Math.Min(1, bestScore / 0.3) * (bestScore - second) / bestScore;
        return new LanguageGuess(best, Math.Round(confidence, 4));
    }
}

/// <summary>Keeps documents identified as one of the allowed languages with at least the given confidence.</summary>
public sealed class LanguageFilter : IDocumentFilter
{
    readonly HashSet<string> allowed;
    readonly double minConfidence;

    public LanguageFilter(IEnumerable<string> allowedLanguages, double minConfidence = 0.5)
    {
        allowed = new HashSet<string>(allowedLanguages, StringComparer.OrdinalIgnoreCase);
        this.minConfidence = minConfidence;
    }

    public string Name => "language";

    public FilterResult Apply(Document document)
    {
        var guess = LanguageIdentifier.Identify(document.Text);
        if (!allowed.Contains(guess.Language)) return FilterResult.Reject($"language_{guess.Language}");
        return guess.Confidence >= minConfidence ? FilterResult.Keep(document) : FilterResult.Reject("language_low_confidence");
    }
}
