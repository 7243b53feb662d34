namespace SharpLM.Modeling.NGram;

/// <summary>
/// A conditional distribution over the next token given at most <see cref="Order"/> − 1 previous tokens, and the
/// sentence- and text-level scores every n-gram model derives from it. Tokens outside the vocabulary are read as
/// <c>&lt;unk&gt;</c>; a longer context is cut to its last <see cref="Order"/> − 1 tokens.
/// </summary>
public abstract class NGramLanguageModel
{
    /// <summary>Sets the vocabulary, order and text conventions the model scores with.</summary>
    protected NGramLanguageModel(NGramVocabulary vocabulary, int order, NGramTokenization tokenization, SentencePadding padding)
    {
        Vocabulary = vocabulary;
        Order = order;
        Tokenization = tokenization;
        Padding = padding;
    }

    /// <summary>The token types the model knows; others are read as <c>&lt;unk&gt;</c>.</summary>
    public NGramVocabulary Vocabulary { get; }

    /// <summary>The model's order N: it conditions on at most N − 1 previous tokens.</summary>
    public int Order { get; }

    /// <summary>How <see cref="Evaluate(string)"/> and friends split a line into tokens.</summary>
    public NGramTokenization Tokenization { get; }

    /// <summary>How sentences are bracketed when scored; the same convention the model was trained with.</summary>
    public SentencePadding Padding { get; }

    /// <summary>P(<paramref name="word"/> | <paramref name="context"/>), the context oldest first.</summary>
    public double Probability(IReadOnlyList<string> context, string word) =>
        Probability(context.Select(Vocabulary.Id).ToArray(), Vocabulary.Id(word));

    /// <summary>ln P(<paramref name="word"/> | <paramref name="context"/>).</summary>
    public double LogProb(IReadOnlyList<string> context, string word) => Math.Log(Probability(context, word));

    /// <summary>P(word | context) over vocabulary ids.</summary>
    internal abstract double Probability(ReadOnlySpan<int> context, int word);

    /// <summary>
    /// ln P of a tokenised sentence: each token and the end marker(s), every one predicted from the previous
    /// <see cref="Order"/> − 1 tokens of the padded sentence (the start markers are context only).
    /// </summary>
    public double SentenceLogProb(IReadOnlyList<string> tokens) => Score(tokens).LogLikelihood;

    /// <summary>Scores every line of <paramref name="text"/> as a sentence.</summary>
    public NGramEvaluation Evaluate(string text) => Evaluate(NGramTokenizer.Lines(text));

    /// <summary>Scores a text file line by line, streaming.</summary>
    public NGramEvaluation EvaluateFile(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        return Evaluate(File.ReadLines(path));
    }

    /// <summary>Scores each line as a sentence.</summary>
    public NGramEvaluation Evaluate(IEnumerable<string> lines)
    {
        double logLikelihood = 0;
        long tokens = 0, characters = 0;
        foreach (string line in lines)
        {
            var (lineLogLikelihood, predicted) = Score(NGramTokenizer.Tokenize(line, Tokenization));
            logLikelihood += lineLogLikelihood;
            tokens += predicted;
            characters += NGramTokenizer.CharactersWithNewline(line);
        }
        return new NGramEvaluation(logLikelihood, tokens, characters);
    }

    /// <summary>Perplexity per predicted token (end markers included) of the lines of <paramref name="text"/>.</summary>
    public double Perplexity(string text) => Evaluate(text).Perplexity;

    /// <summary>Bits per character of <paramref name="text"/>; see <see cref="NGramEvaluation.BitsPerCharacter"/>.</summary>
    public double BitsPerCharacter(string text) => Evaluate(text).BitsPerCharacter;

    (double LogLikelihood, int Predicted) Score(IReadOnlyList<string> tokens)
    {
        int[] ids = Padding.Pad(Vocabulary, tokens, Order);
        int first = Padding.StartMarkers(Order);
        double logLikelihood = 0;
        for (int i = first; i < ids.Length; i++)
        {
            int contextStart = Math.Max(0, i - (Order - 1));
            logLikelihood += Math.Log(Probability(ids.AsSpan(contextStart, i - contextStart), ids[i]));
        }
        return (logLikelihood, ids.Length - first);
    }
}
