namespace SharpLM.Tokenization;

/// <summary>
/// Text ⇄ token ids. Every tokenizer in SharpLM round-trips: <c>Decode(Encode(s)) == s</c> for the strings it accepts
/// (byte-level tokenizers accept every Unicode string; the character tokenizer only its own alphabet).
/// </summary>
public interface ITokenizer
{
    /// <summary>Short kind name stored in checkpoints: "char", "bpe", "gpt2".</summary>
    string Kind { get; }

    /// <summary>Number of ids, including special tokens; ids are 0 … VocabSize-1.</summary>
    int VocabSize { get; }

    /// <summary>Id of the end-of-text token that separates documents, or null if the tokenizer has none.</summary>
    int? EndOfTextId { get; }

    /// <summary>
    /// Special tokens matched verbatim in text before ordinary encoding (e.g. &lt;|endoftext|&gt;, &lt;|im_end|&gt;),
    /// each with its single id. Empty for a tokenizer without any.
    /// </summary>
    IReadOnlyDictionary<string, int> SpecialTokenIds => EmptySpecialTokens.Instance;

    /// <summary>Encodes text. Special-token strings (e.g. &lt;|endoftext|&gt;) in the text map to their ids.</summary>
    int[] Encode(string text);

    /// <summary>Decodes ids back to text.</summary>
    string Decode(ReadOnlySpan<int> ids);

    /// <summary>Writes the tokenizer to <c>directory/tokenizer.json</c> (atomically).</summary>
    void Save(string directory);
}

/// <summary>The shared empty map behind <see cref="ITokenizer.SpecialTokenIds"/>'s default.</summary>
file static class EmptySpecialTokens
{
    public static readonly IReadOnlyDictionary<string, int> Instance = new Dictionary<string, int>();
}
