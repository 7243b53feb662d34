namespace SharpLM.Tokenization;

/// <summary>
/// The special tokens chat formats use, and the one way to add special tokens to any tokenizer. Added tokens get ids
/// after the existing vocabulary, so a model's embedding grows at the end and existing ids keep their meaning.
/// </summary>
public static class SpecialTokens
{
    /// <summary>ChatML's start of a message (followed by the role and a newline).</summary>
    public const string ImStart = "<|im_start|>";

    /// <summary>ChatML's end of a message; generation of a reply stops here.</summary>
    public const string ImEnd = "<|im_end|>";

    /// <summary>GPT-2's document separator.</summary>
    public const string EndOfText = BpeTokenizer.EndOfText;

    /// <summary>What a ChatML model needs: &lt;|im_start|&gt;, &lt;|im_end|&gt; and &lt;|endoftext|&gt;.</summary>
    public static IReadOnlyList<string> ChatMl { get; } = [ImStart, ImEnd, EndOfText];

    /// <summary>
    /// <paramref name="tokenizer"/> with <paramref name="tokens"/> as atomic special tokens. Byte-level BPE gets them
    /// in its own vocab (a Hugging Face tokenizer.json with "added_tokens", as transformers' <c>add_special_tokens</c>
    /// writes); any other tokenizer is wrapped in an <see cref="AddedTokensTokenizer"/>. Tokens it already has as
    /// special tokens keep their ids. Calling it again adds only the tokens still missing.
    /// </summary>
    /// <exception cref="ArgumentException">A token is empty or listed twice.</exception>
    public static ITokenizer WithSpecialTokens(this ITokenizer tokenizer, IReadOnlyList<string> tokens)
    {
        if (tokens.Any(string.IsNullOrEmpty)) throw new ArgumentException("special tokens must not be empty", nameof(tokens));
        if (tokens.Distinct(StringComparer.Ordinal).Count() != tokens.Count) throw new ArgumentException("a special token is listed twice", nameof(tokens));
        switch (tokenizer)
        {
            case BpeTokenizer bpe:
            {
                var vocab = bpe.Vocab.ToList();
                var specials = bpe.SpecialTokens.ToList();
                foreach (string token in tokens.Where(t => !specials.Contains(t, StringComparer.Ordinal)))
                {
                    // A token that happens to be an ordinary vocab entry already becomes special in place.
                    if (!bpe.TryGetId(token, out _)) vocab.Add(token);
                    specials.Add(token);
                }
                return new BpeTokenizer(vocab, bpe.Merges, specials);
            }
            case HuggingFace.HuggingFaceTokenizer hf:
                // Its own file has an added_tokens list of objects: the tokens go there, not into a wrapper.
                return hf.WithAddedSpecialTokens(tokens);
            case AddedTokensTokenizer wrapped:
                return new AddedTokensTokenizer(wrapped.Base, wrapped.AddedTokens.Concat(tokens.Where(t => !wrapped.AddedTokens.Contains(t, StringComparer.Ordinal))).ToArray());
            default:
                return new AddedTokensTokenizer(tokenizer, tokens);
        }
    }

    /// <summary>The id of special token <paramref name="token"/>, or null when the tokenizer has no such token.</summary>
    public static int? IdOf(this ITokenizer tokenizer, string token) =>
        tokenizer.SpecialTokenIds.TryGetValue(token, out int id) ? id : null;
}
