using System.Globalization;

namespace SharpLM.Modeling.NGram;

/// <summary>
/// The ARPA back-off language-model format that KenLM, SRILM and most decoders read:
/// <code>
/// \data\
/// ngram 1=&lt;count&gt;
/// ngram 2=&lt;count&gt;
///
/// \1-grams:
/// &lt;log10 p&gt;	&lt;w&gt;	&lt;log10 backoff&gt;
///
/// \2-grams:
/// &lt;log10 p&gt;	&lt;w1 w2&gt;
///
/// \end\
/// </code>
/// with a backoff column on every order but the highest. A Kneser-Ney model is written as its own backoff form:
/// each counted n-gram h w gets the full interpolated P(w | h) and each context h gets γ(h), since an unseen word's
/// interpolated probability is exactly γ(h)·P(w | h′) (see <see cref="KneserNeyModel"/>); reading the file back
/// gives the same probabilities to the printed precision (10 significant digits of log10). The unigram section
/// lists the whole vocabulary. A probability of 0 (<c>&lt;s&gt;</c> under KenLM padding, a word plain Kneser-Ney
/// never saw) is written as log10 = −99, as KenLM and SRILM write <c>&lt;s&gt;</c>, and −99 or less is read back as 0.
/// </summary>
public static class ArpaFormat
{
    const double LogZero = -99;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>.</summary>
    public static void Write(KneserNeyModel model, string path)
    {
        using var writer = new StreamWriter(path);
        Write(model, writer);
    }

    /// <summary>Writes <paramref name="model"/> in ARPA format.</summary>
    public static void Write(KneserNeyModel model, TextWriter writer)
    {
        var trie = model.Trie;
        var vocabulary = model.Vocabulary;
        foreach (string token in vocabulary.Tokens)
            if (token.Any(char.IsWhiteSpace))
                throw new InvalidOperationException($"The token '{token}' contains whitespace, which separates the words of an ARPA n-gram.");

        writer.NewLine = "\n";
        writer.WriteLine();
        writer.WriteLine(@"\data\");
        writer.WriteLine($"ngram 1={vocabulary.Count}");
        var listed = new List<int>[model.Order + 1];
        for (int k = 2; k <= model.Order; k++)
        {
            listed[k] = Enumerable.Range(0, trie.Count(k)).Where(id => model.Counts.Count(k, id) > 0).ToList();
            writer.WriteLine($"ngram {k}={listed[k].Count}");
        }

        writer.WriteLine();
        writer.WriteLine(@"\1-grams:");
        for (int word = 0; word < vocabulary.Count; word++)
        {
            int node = trie.Find(1, NGramTrie.Root, word);
            double backoff = node < 0 || model.Order == 1 ? 1 : model.BackoffWeight(1, node);
            WriteLine(writer, model.Probability([], word), [word], vocabulary, model.Order == 1 ? null : backoff);
        }
        for (int k = 2; k <= model.Order; k++)
        {
            writer.WriteLine();
            writer.WriteLine($@"\{k}-grams:");
            foreach (int id in listed[k])
            {
                int[] ngram = trie.Spell(k, id);
                double p = model.Probability(ngram.AsSpan(0, k - 1), ngram[k - 1]);
                WriteLine(writer, p, ngram, vocabulary, k == model.Order ? null : model.BackoffWeight(k, id));
            }
        }
        writer.WriteLine();
        writer.WriteLine(@"\end\");
    }

    /// <summary>
    /// Reads an ARPA file into a <see cref="BackoffModel"/>. ARPA records neither tokenisation nor padding:
    /// give the ones the model was trained with so that text scoring matches.
    /// </summary>
    public static BackoffModel Read(string path, NGramTokenization tokenization = NGramTokenization.Words,
        SentencePadding padding = SentencePadding.KenLm)
    {
        var sections = Parse(path);
        int order = sections.Length - 1;
        var vocabulary = NGramVocabulary.FromTokens(sections[1].Select(e => e.Words[0]));
        var trie = new NGramTrie(order);
        var probabilities = new double[order + 1][];
        var backoffs = new double[order + 1][];
        for (int k = 1; k <= order; k++)
        {
            probabilities[k] = new double[sections[k].Count];
            backoffs[k] = new double[sections[k].Count];
            foreach (var (logProb, words, logBackoff) in sections[k])
            {
                string ngram = string.Join(' ', words);
                if (!words.All(vocabulary.Contains)) throw InvalidInputException.ForFile(path, $"the {k}-gram '{ngram}' has a word that is not a unigram");
                int prefix = trie.Find(words[..^1].Select(vocabulary.Id).ToArray());
                if (prefix < 0) throw InvalidInputException.ForFile(path, $"the {k}-gram '{ngram}' is listed without its prefix");
                int known = trie.Count(k);
                int id = trie.GetOrAdd(k, prefix, vocabulary.Id(words[^1]));
                if (id < known) throw InvalidInputException.ForFile(path, $"the {k}-gram '{ngram}' is listed twice");
                probabilities[k][id] = FromLog(logProb);
                backoffs[k][id] = FromLog(logBackoff);
            }
        }
        return new BackoffModel(vocabulary, trie, probabilities, backoffs, tokenization, padding);
    }

    /// <summary>The entries of each order's section (index k for k-grams), checked against the header's counts.</summary>
    static List<(double LogProb, string[] Words, double LogBackoff)>[] Parse(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        using var lines = File.ReadLines(path).GetEnumerator();
        int lineNumber = 0;
        string? line = null;
        bool NextNonEmpty()
        {
            while (lines.MoveNext())
            {
                lineNumber++;
                line = lines.Current.Trim();
                if (line.Length > 0) return true;
            }
            line = null;
            return false;
        }
        InvalidInputException Error(string problem) => InvalidInputException.ForFile(path, $"line {lineNumber}: {problem}");

        // Anything before \data\ is ignored, as other ARPA readers ignore it.
        do
            if (!NextNonEmpty()) throw Error(@"no \data\ section");
        while (line != @"\data\");
        var declared = new List<int>();
        while (NextNonEmpty() && line!.StartsWith("ngram ", StringComparison.Ordinal))
        {
            string[] parts = line["ngram ".Length..].Split('=');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int k) || k != declared.Count + 1 || !int.TryParse(parts[1], out int count))
                throw Error($"expected 'ngram {declared.Count + 1}=<count>', found '{line}'");
            declared.Add(count);
        }
        if (declared.Count == 0) throw Error("no 'ngram k=<count>' lines");

        var sections = new List<(double, string[], double)>[declared.Count + 1];
        for (int k = 1; k <= declared.Count; k++)
        {
            if (line != $@"\{k}-grams:") throw Error($@"expected \{k}-grams:, found '{line}'");
            sections[k] = new();
            while (NextNonEmpty() && !line!.StartsWith('\\'))
            {
                string[] fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                bool hasBackoff = fields.Length == k + 2;
                if (fields.Length != k + 1 && !hasBackoff) throw Error($"a {k}-gram line has a log probability, {k} words and an optional backoff; found '{line}'");
                sections[k].Add((ParseLog(fields[0], Error), fields[1..(k + 1)], hasBackoff ? ParseLog(fields[^1], Error) : 0));
            }
            if (sections[k].Count != declared[k - 1]) throw Error($"the header declares {declared[k - 1]} {k}-grams, the section has {sections[k].Count}");
        }
        if (line != @"\end\") throw Error($@"expected \end\, found '{line}'");
        return sections;
    }

    static void WriteLine(TextWriter writer, double probability, int[] ngram, NGramVocabulary vocabulary, double? backoff)
    {
        writer.Write(ToLog(probability));
        writer.Write('\t');
        writer.Write(string.Join(' ', ngram.Select(vocabulary.Token)));
        if (backoff is double b)
        {
            writer.Write('\t');
            writer.Write(ToLog(b));
        }
        writer.WriteLine();
    }

    static string ToLog(double p) => (p > 0 ? Math.Max(Math.Log10(p), LogZero) : LogZero).ToString("G10", CultureInfo.InvariantCulture);

    static double FromLog(double log10) => log10 <= LogZero ? 0 : Math.Pow(10, log10);

    static double ParseLog(string field, Func<string, InvalidInputException> error) =>
        double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw error($"'{field}' is not a number");
}
