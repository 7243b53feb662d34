namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// N-gram counting as sacrebleu's <c>metrics/helpers.py</c> does it. An n-gram of words is keyed by its words
/// joined with one space, which is unambiguous because the words come from a whitespace split.
/// </summary>
internal static class SacrebleuNGrams
{
    /// <summary>The n-grams of order <paramref name="n"/> (<c>extract_word_ngrams</c>).</summary>
    public static Dictionary<string, int> OfWords(IReadOnlyList<string> words, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= words.Count; i++)
        {
            string key = words[i];
            for (int k = 1; k < n; k++) key = string.Concat(key, " ", words[i + k]);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    /// <summary>Orders 1..<paramref name="maxOrder"/> of words, element n-1 holding order n (<c>extract_all_word_ngrams</c>).</summary>
    public static Dictionary<string, int>[] AllOfWords(IReadOnlyList<string> words, int maxOrder) =>
        [.. Enumerable.Range(1, maxOrder).Select(n => OfWords(words, n))];

    /// <summary>
    /// Character n-grams of orders 1..<paramref name="maxOrder"/> (<c>extract_all_char_ngrams</c>): over code
    /// points, as Python slices strings, and with all whitespace removed first unless it is to be kept.
    /// </summary>
    public static Dictionary<string, int>[] AllOfCharacters(string line, int maxOrder, bool includeWhitespace)
    {
        if (!includeWhitespace) line = string.Concat(PythonText.Split(line));
        int[] offsets = PythonText.CodePointOffsets(line);
        int length = offsets.Length - 1;
        var all = new Dictionary<string, int>[maxOrder];
        for (int n = 1; n <= maxOrder; n++)
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i + n <= length; i++)
            {
                string key = line[offsets[i]..offsets[i + n]];
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
            all[n - 1] = counts;
        }
        return all;
    }
}
