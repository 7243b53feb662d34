using System.Text;

namespace SharpLM.Data.Cleaning;

/// <summary>A language guess: ISO 639-1 code (or "unknown") and a confidence in [0, 1].</summary>
/// <param name="Language">"en", "de", "fr", "es", "zh", or "unknown".</param>
/// <param name="Confidence">How sure the guess is, in [0, 1]; 0 for "unknown".</param>
public sealed record LanguageGuess(string Language, double Confidence);

/// <summary>
/// Language identification without a downloaded model. First the script: text whose letters are mostly Han is
/// Chinese (confidence = Han share). Otherwise a stop-word classifier for English, German, French and Spanish:
/// the share of a language's most frequent function words among the document's words, turned into a confidence
/// by comparing the best language with the runner-up. Short or stop-word-free Latin text is "unknown".
/// </summary>
public static class LanguageIdentifier
{
    static readonly string[] Languages = ["en", "de", "fr", "es"];
    static readonly string[] StopWordLists =
    [
        "the of and to a in is that it was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their",
        "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie",
        "le de la les et des en un une du est que dans qui pour pas au sur par plus il ne se ce sont avec ou son elle nous mais leur été aux cette",
        "de la que el en y los del se las por un para con no una su al es lo como más pero sus le ya o este sí porque esta entre cuando muy sin sobre",
    ];

    /// <summary>Stop word → bit mask of the languages that list it (one lookup per word, no set per language).</summary>
    static readonly Dictionary<string, int> StopWordLanguages = BuildStopWords();
    static readonly int LongestStopWord = StopWordLanguages.Keys.Max(w => w.Length);

    static Dictionary<string, int> BuildStopWords()
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int l = 0; l < StopWordLists.Length; l++)
            foreach (string word in StopWordLists[l].Split(' ')) map[word] = map.GetValueOrDefault(word) | 1 << l;
        return map;
    }

    /// <summary>Guesses the language of <paramref name="text"/>; "unknown" when it has no letters, fewer than 5 words, or too few stop words.</summary>
    public static LanguageGuess Identify(string text)
    {
        int han = 0, letters = 0;
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            if (c < 0x80) { if ((uint)((c | 0x20) - 'a') <= 'z' - 'a') letters++; i++; continue; }
            Rune.DecodeFromUtf16(text.AsSpan(i), out Rune r, out int consumed);
            i += consumed;
            if (!Rune.IsLetter(r)) continue;
            letters++;
            if (r.Value is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF)) han++;
        }
        if (letters == 0) return new LanguageGuess("unknown", 0);
        double hanShare = (double)han / letters;
        if (hanShare > 0.5) return new LanguageGuess("zh", hanShare);

        // Words are runs of letters and apostrophes, lower-cased into a small buffer: only short words can be stop words.
        var lookup = StopWordLanguages.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> word = stackalloc char[LongestStopWord];
        Span<int> hits = stackalloc int[Languages.Length];
        int words = 0, length = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            char c = i < text.Length ? text[i] : ' ';
            if (char.IsLetter(c) || c == '\'')
            {
                if (length < word.Length) word[length] = char.ToLowerInvariant(c);
                length++;
                continue;
            }
            if (length == 0) continue;
            words++;
            if (length <= word.Length && lookup.TryGetValue(word[..length], out int mask))
                for (int l = 0; l < hits.Length; l++) if ((mask & 1 << l) != 0) hits[l]++;
            length = 0;
        }
        if (words < 5) return new LanguageGuess("unknown", 0);

        // Best and runner-up share of stop words (ties go to the earlier language, as a stable sort would).
        int best = 0, second = -1;
        for (int l = 1; l < hits.Length; l++)
        {
            if (hits[l] > hits[best]) { second = best; best = l; }
            else if (second < 0 || hits[l] > hits[second]) second = l;
        }
        double bestScore = (double)hits[best] / words, secondScore = (double)hits[second] / words;
        if (bestScore < 0.05) return new LanguageGuess("unknown", 0);
        // Ordinary prose is 30–50% function words; the margin over the runner-up says how sure the guess is.
        double confidence = Math.Min(1, bestScore / 0.3) * (bestScore - secondScore) / bestScore;
        return new LanguageGuess(Languages[best], Math.Round(confidence, 4));
    }
}

/// <summary>Keeps documents identified as one of the allowed languages with at least the given confidence.</summary>
public sealed class LanguageFilter : IDocumentFilter
{
    readonly HashSet<string> allowed;
    readonly double minConfidence;

    /// <summary>A filter keeping <paramref name="allowedLanguages"/> (ISO 639-1 codes, any case) at <paramref name="minConfidence"/> or above.</summary>
    public LanguageFilter(IEnumerable<string> allowedLanguages, double minConfidence = 0.5)
    {
        allowed = new HashSet<string>(allowedLanguages, StringComparer.OrdinalIgnoreCase);
        this.minConfidence = minConfidence;
    }

    /// <summary>"language", the name reports use.</summary>
    public string Name => "language";

    /// <summary>
    /// Keeps the document unchanged, or rejects it as "language_{code}" (a language not allowed, "unknown" included)
    /// or "language_low_confidence".
    /// </summary>
    public FilterResult Apply(Document document)
    {
        var guess = LanguageIdentifier.Identify(document.Text);
        if (!allowed.Contains(guess.Language)) return FilterResult.Reject($"language_{guess.Language}");
        return guess.Confidence >= minConfidence ? FilterResult.Keep(document) : FilterResult.Reject("language_low_confidence");
    }
}
