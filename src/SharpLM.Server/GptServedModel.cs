using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Server;

/// <summary>
/// A SharpLM checkpoint (a <see cref="LanguageModel"/> and its tokenizer) as a served model. Scoring is <see cref="Evaluation.Perplexity.Score"/>; when
/// the tokenizer has an end-of-text token it goes in front (as <see cref="Evaluation.Perplexity"/> does), so the
/// text's first token is predicted too. Generation is <see cref="Generator"/> with the KV cache.
/// </summary>
public sealed class GptServedModel(LanguageModel model, ITokenizer tokenizer, Device device, string id, Adaptation.Formatting.ChatTemplate? chatTemplate = null) : IServedModel
{
    readonly Generator generator = new(model, tokenizer, device);

    /// <inheritdoc/>
    public IReadOnlyCollection<string> SpecialTokens => [.. tokenizer.SpecialTokenIds.Keys];

    public string Id => id;

    public int ContextLength => model.ContextLength;

    public Adaptation.Formatting.ChatTemplate? ChatTemplate => chatTemplate;

    public IReadOnlyList<ScoredToken> Score(string text)
    {
        int[] encoded = tokenizer.Encode(text);
        int[] ids = tokenizer.EndOfTextId is int eot ? [eot, .. encoded] : encoded;
        // Longer texts than the window are scored in windows, as Perplexity scores them (so rolling scores agree).
        var (chosen, best, bestIds) = ids.Length > 1 ? Evaluation.Perplexity.Score(model, ids, device) : new([], [], []);

        // Row k of the forward pass predicts ids[k + 1]; encoded[j] is ids[j + shift].
        int shift = ids.Length - encoded.Length;
        int[] starts = TokenStarts(text, encoded);
        var tokens = new List<ScoredToken>(ids.Length);
        if (shift == 1) tokens.Add(new ScoredToken("", 0, null, null));
        for (int j = 0; j < encoded.Length; j++)
        {
            int k = j + shift;
            string tokenText = text[starts[j]..(j + 1 < encoded.Length ? starts[j + 1] : text.Length)];
            tokens.Add(k == 0
                ? new ScoredToken(tokenText, starts[j], null, null)
                : new ScoredToken(tokenText, starts[j], chosen[k - 1], new TokenAlternative(tokenizer.Decode([(int)bestIds[k - 1]]), best[k - 1])));
        }
        return tokens;
    }


    /// <summary>
    /// Where each token starts in <paramref name="text"/>: the length of the text that the tokens before it decode
    /// to. A prefix ending inside a multi-byte character decodes with a replacement character, so the common
    /// prefix with the text is taken; the token that completes the character then carries all of it. Decoding
    /// concatenates at character boundaries (SharpLM's char and byte-level tokenizers do), so each step decodes
    /// only the tokens since the last boundary instead of the whole prefix.
    /// </summary>
    int[] TokenStarts(string text, int[] encoded)
    {
        var starts = new int[encoded.Length];
        int anchor = 0; // tokens before it decode to exactly text[..starts[anchor]]
        for (int j = 1; j < encoded.Length; j++)
        {
            string piece = tokenizer.Decode(encoded.AsSpan(anchor, j - anchor));
            int matched = piece.AsSpan().CommonPrefixLength(text.AsSpan(starts[anchor]));
            starts[j] = starts[anchor] + matched;
            if (matched == piece.Length) anchor = j;
        }
        return starts;
    }

    public IEnumerable<string> Generate(string prompt, int maxTokens, double temperature, ulong? seed, IReadOnlyList<string> stop, CancellationToken cancellation) =>
        generator.Stream(prompt, new SamplingOptions
        {
            MaxNewTokens = maxTokens, Temperature = temperature, TopK = 0, TopP = 1, StopStrings = stop,
            Seed = seed ?? (ulong)Random.Shared.NextInt64(),
        }, cancellation);

    /// <summary>The tokenizer's count (its encoders are immutable, so safe beside a running generation).</summary>
    public int CountTokens(string text) => tokenizer.Encode(text).Length;
}
