namespace SharpLM.Modeling.NGram;

/// <summary>
/// The token types an n-gram model knows, numbered. <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c>
/// (KenLM's and SRILM's spellings) are always present, with ids 0, 1 and 2; every other token seen at least
/// <c>minCount</c> times gets the next id in order of first appearance, and every token outside the vocabulary is
/// read as <c>&lt;unk&gt;</c> (NLTK's <c>Vocabulary(unk_cutoff=minCount)</c>).
/// </summary>
public sealed class NGramVocabulary
{
    /// <summary>The spellings of the unknown-token, sentence-start and sentence-end markers (KenLM's and SRILM's).</summary>
    public const string Unknown = "<unk>", SentenceStart = "<s>", SentenceEnd = "</s>";
    /// <summary>The ids of <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c>: always 0, 1 and 2.</summary>
    public const int UnknownId = 0, SentenceStartId = 1, SentenceEndId = 2;

    readonly List<string> tokens = [Unknown, SentenceStart, SentenceEnd];
    readonly Dictionary<string, int> ids = new(StringComparer.Ordinal) { [Unknown] = UnknownId, [SentenceStart] = SentenceStartId, [SentenceEnd] = SentenceEndId };

    NGramVocabulary() { }

    /// <summary>The tokens of <paramref name="tokenStream"/> that occur at least <paramref name="minCount"/> times.</summary>
    public static NGramVocabulary FromTokens(IEnumerable<string> tokenStream, int minCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minCount, 1);
        var firstSeen = new List<string>();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string token in tokenStream)
        {
            counts.TryGetValue(token, out long count);
            if (count == 0) firstSeen.Add(token);
            counts[token] = count + 1;
        }
        var vocabulary = new NGramVocabulary();
        foreach (string token in firstSeen)
            if (counts[token] >= minCount && !vocabulary.ids.ContainsKey(token))
            {
                vocabulary.ids[token] = vocabulary.tokens.Count;
                vocabulary.tokens.Add(token);
            }
        return vocabulary;
    }

    /// <summary>The vocabulary of tokenised sentences (one streaming pass).</summary>
    public static NGramVocabulary FromSentences(IEnumerable<IReadOnlyList<string>> sentences, int minCount = 1) =>
        FromTokens(sentences.SelectMany(s => s), minCount);

    /// <summary>Number of token types, the three markers included.</summary>
    public int Count => tokens.Count;

    /// <summary>The token of each id: the three markers, then the others in order of first appearance.</summary>
    public IReadOnlyList<string> Tokens => tokens;

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnknownId"/> when it is not in the vocabulary.</summary>
    public int Id(string token) => ids.TryGetValue(token, out int id) ? id : UnknownId;

    /// <summary>The token with id <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside 0 … <see cref="Count"/>-1.</exception>
    public string Token(int id) => tokens[id];

    /// <summary>Whether <paramref name="token"/> has an id of its own (is not read as <c>&lt;unk&gt;</c>); true for the markers.</summary>
    public bool Contains(string token) => ids.ContainsKey(token);
}
