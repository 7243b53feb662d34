namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// The Porter stemmer exactly as NLTK's <c>nltk.stem.porter.PorterStemmer()</c> in its default
/// <c>NLTK_EXTENSIONS</c> mode, which is the stemmer Google's <c>rouge_score</c> uses. That mode differs from
/// Porter's 1980 paper in a few places (each marked "NLTK extension" below): a table of irregular forms, no
/// stemming of words of one or two letters, 'ies'/'ied' on four-letter words, the y→i rule, 'alli' handled before
/// the other step-2 rules, 'bli'→'ble', 'fulli'→'ful' and 'logi'→'log', and a two-letter vowel-consonant stem
/// counting as *o. Rule lists are tried in order and the first suffix that matches decides, even when its
/// condition fails — that is NLTK's <c>_apply_rule_list</c>, and it is why a word ending "ement" whose stem is too
/// short is not tried against "ment".
/// </summary>
public static class PorterStemmer
{
    // NLTK extension: irregular forms map straight to their stem and bypass the algorithm.
    private static readonly Dictionary<string, string> IrregularForms = new(StringComparer.Ordinal)
    {
        ["sky"] = "sky", ["skies"] = "sky",
        ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie",
        ["news"] = "news",
        ["innings"] = "inning", ["inning"] = "inning",
        ["outings"] = "outing", ["outing"] = "outing",
        ["cannings"] = "canning", ["canning"] = "canning",
        ["howe"] = "howe",
        ["proceed"] = "proceed", ["exceed"] = "exceed", ["succeed"] = "succeed",
    };

    /// <summary>A suffix rule: replace <paramref name="Suffix"/> by <paramref name="Replacement"/> when the rest
    /// of the word satisfies <paramref name="Condition"/> (null: always).</summary>
    private readonly record struct Rule(string Suffix, string Replacement, Func<string, bool>? Condition = null);

    /// <summary>Stems one word. NLTK lowercases first; rouge_score only passes lowercase ASCII tokens.</summary>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        // NLTK looks the word up before lowercasing; the table's keys are lowercase, so only lowercase words hit it.
        if (IrregularForms.TryGetValue(word, out string? irregular)) return irregular;
        string stem = word.ToLowerInvariant();
        // NLTK extension: words of one or two letters are returned as they are.
        if (word.Length <= 2) return stem;
        stem = Step1a(stem);
        stem = Step1b(stem);
        stem = Step1c(stem);
        stem = Step2(stem);
        stem = Step3(stem);
        stem = Step4(stem);
        stem = Step5a(stem);
        return Step5b(stem);
    }

    /// <summary>A letter other than a, e, i, o, u, and other than a y preceded by a consonant.</summary>
    private static bool IsConsonant(string word, int i) => word[i] switch
    {
        'a' or 'e' or 'i' or 'o' or 'u' => false,
        'y' => i == 0 || !IsConsonant(word, i - 1),
        _ => true,
    };

    /// <summary>Porter's m: the number of vowel-consonant transitions in [C](VC){m}[V].</summary>
    private static int Measure(string stem)
    {
        int m = 0;
        for (int i = 1; i < stem.Length; i++)
            if (!IsConsonant(stem, i - 1) && IsConsonant(stem, i)) m++;
        return m;
    }

    private static bool HasPositiveMeasure(string stem) => Measure(stem) > 0;

    private static bool ContainsVowel(string stem)
    {
        for (int i = 0; i < stem.Length; i++)
            if (!IsConsonant(stem, i)) return true;
        return false;
    }

    /// <summary>*d: the word ends with a double consonant.</summary>
    private static bool EndsDoubleConsonant(string word) =>
        word.Length >= 2 && word[^1] == word[^2] && IsConsonant(word, word.Length - 1);

    /// <summary>*o: the word ends consonant-vowel-consonant, the last not w, x or y; NLTK extension: or the word
    /// is just vowel-consonant.</summary>
    private static bool EndsCvc(string word) =>
        (word.Length >= 3
            && IsConsonant(word, word.Length - 3)
            && !IsConsonant(word, word.Length - 2)
            && IsConsonant(word, word.Length - 1)
            && word[^1] is not ('w' or 'x' or 'y'))
        || (word.Length == 2 && !IsConsonant(word, 0) && IsConsonant(word, 1));

    /// <summary>NLTK's <c>_apply_rule_list</c>: the first rule whose suffix matches decides the outcome.</summary>
    private static string ApplyFirstMatching(string word, Rule[] rules)
    {
        foreach (var (suffix, replacement, condition) in rules)
        {
            if (!word.EndsWith(suffix, StringComparison.Ordinal)) continue;
            string stem = word[..^suffix.Length];
            return condition is null || condition(stem) ? stem + replacement : word;
        }
        return word;
    }

    private static string Step1a(string word)
    {
        // NLTK extension: 'dies' -> 'die' (but 'flies' -> 'fli').
        if (word.Length == 4 && word.EndsWith("ies", StringComparison.Ordinal)) return word[..^3] + "ie";
        return ApplyFirstMatching(word, Step1aRules);
    }

    private static readonly Rule[] Step1aRules = [new("sses", "ss"), new("ies", "i"), new("ss", "ss"), new("s", "")];

    private static string Step1b(string word)
    {
        // NLTK extension: 'died' -> 'die', 'spied' -> 'spi'.
        if (word.EndsWith("ied", StringComparison.Ordinal))
            return word[..^3] + (word.Length == 4 ? "ie" : "i");

        if (word.EndsWith("eed", StringComparison.Ordinal))
            return HasPositiveMeasure(word[..^3]) ? word[..^1] : word;

        string? stem = null;
        foreach (string suffix in (ReadOnlySpan<string>)["ed", "ing"])
        {
            if (word.EndsWith(suffix, StringComparison.Ordinal) && ContainsVowel(word[..^suffix.Length]))
            {
                stem = word[..^suffix.Length];
                break;
            }
        }
        if (stem is null) return word;

        if (stem.EndsWith("at", StringComparison.Ordinal) || stem.EndsWith("bl", StringComparison.Ordinal)
            || stem.EndsWith("iz", StringComparison.Ordinal))
            return stem + "e";
        // (*d and not (*L or *S or *Z)) -> single letter; a double l, s or z stays and ends the step.
        if (EndsDoubleConsonant(stem))
            return stem[^1] is 'l' or 's' or 'z' ? stem : stem[..^1];
        return Measure(stem) == 1 && EndsCvc(stem) ? stem + "e" : stem;
    }

    // NLTK extension: y -> i only after a consonant that is not the whole stem ('happy' -> 'happi'; 'enjoy' and
    // 'by' keep their y).
    private static string Step1c(string word) => ApplyFirstMatching(word, Step1cRules);

    private static readonly Rule[] Step1cRules =
        [new("y", "i", stem => stem.Length > 1 && IsConsonant(stem, stem.Length - 1))];

    private static string Step2(string word)
    {
        // NLTK extension: 'alli' -> 'al' is tried first and, when it applies, the result goes through step 2 again.
        if (word.EndsWith("alli", StringComparison.Ordinal) && HasPositiveMeasure(word[..^4]))
            return Step2(word[..^4] + "al");
        return ApplyFirstMatching(word, Step2Rules);
    }

    private static readonly Rule[] Step2Rules =
    [
        new("ational", "ate", HasPositiveMeasure), new("tional", "tion", HasPositiveMeasure),
        new("enci", "ence", HasPositiveMeasure), new("anci", "ance", HasPositiveMeasure),
        new("izer", "ize", HasPositiveMeasure),
        new("bli", "ble", HasPositiveMeasure), // NLTK (and Porter's later versions): 'bli', where the paper has 'abli'
        new("alli", "al", HasPositiveMeasure), new("entli", "ent", HasPositiveMeasure),
        new("eli", "e", HasPositiveMeasure), new("ousli", "ous", HasPositiveMeasure),
        new("ization", "ize", HasPositiveMeasure), new("ation", "ate", HasPositiveMeasure),
        new("ator", "ate", HasPositiveMeasure), new("alism", "al", HasPositiveMeasure),
        new("iveness", "ive", HasPositiveMeasure), new("fulness", "ful", HasPositiveMeasure),
        new("ousness", "ous", HasPositiveMeasure), new("aliti", "al", HasPositiveMeasure),
        new("iviti", "ive", HasPositiveMeasure), new("biliti", "ble", HasPositiveMeasure),
        new("fulli", "ful", HasPositiveMeasure), // NLTK extension
        // NLTK extension: the 'l' of 'logi' counts with the stem (NLTK measures word[:-3]), so 'geo' and 'theo'
        // behave like 'archaeo'.
        new("logi", "log", stem => HasPositiveMeasure(stem + "l")),
    ];

    private static string Step3(string word) => ApplyFirstMatching(word, Step3Rules);

    private static readonly Rule[] Step3Rules =
    [
        new("icate", "ic", HasPositiveMeasure), new("ative", "", HasPositiveMeasure),
        new("alize", "al", HasPositiveMeasure), new("iciti", "ic", HasPositiveMeasure),
        new("ical", "ic", HasPositiveMeasure), new("ful", "", HasPositiveMeasure), new("ness", "", HasPositiveMeasure),
    ];

    private static string Step4(string word) => ApplyFirstMatching(word, Step4Rules);

    private static bool MeasureAboveOne(string stem) => Measure(stem) > 1;

    private static readonly Rule[] Step4Rules =
    [
        new("al", "", MeasureAboveOne), new("ance", "", MeasureAboveOne), new("ence", "", MeasureAboveOne),
        new("er", "", MeasureAboveOne), new("ic", "", MeasureAboveOne), new("able", "", MeasureAboveOne),
        new("ible", "", MeasureAboveOne), new("ant", "", MeasureAboveOne), new("ement", "", MeasureAboveOne),
        new("ment", "", MeasureAboveOne), new("ent", "", MeasureAboveOne),
        new("ion", "", stem => MeasureAboveOne(stem) && stem[^1] is 's' or 't'),
        new("ou", "", MeasureAboveOne), new("ism", "", MeasureAboveOne), new("ate", "", MeasureAboveOne),
        new("iti", "", MeasureAboveOne), new("ous", "", MeasureAboveOne), new("ive", "", MeasureAboveOne),
        new("ize", "", MeasureAboveOne),
    ];

    /// <summary>(m&gt;1) E -> ; (m=1 and not *o) E -> . Both conditions are tried, unlike the rule lists.</summary>
    private static string Step5a(string word)
    {
        if (!word.EndsWith('e')) return word;
        string stem = word[..^1];
        int m = Measure(stem);
        return m > 1 || (m == 1 && !EndsCvc(stem)) ? stem : word;
    }

    /// <summary>(m&gt;1 and *d and *L) -> single letter, the measure taken (as NLTK does) on the word less its
    /// last letter.</summary>
    private static string Step5b(string word) => ApplyFirstMatching(word, Step5bRules);

    private static readonly Rule[] Step5bRules = [new("ll", "l", stem => MeasureAboveOne(stem + "l"))];
}
