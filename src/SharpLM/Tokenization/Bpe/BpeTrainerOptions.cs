namespace SharpLM.Tokenization;

/// <summary>Settings for <see cref="BpeTrainer"/>.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>
    /// Total vocabulary size: the 256 byte tokens, the learned merges and the special tokens. Training stops early
    /// (giving a smaller vocab) only if the corpus runs out of pairs seen at least <see cref="MinFrequency"/> times.
    /// </summary>
    public int VocabSize { get; init; } = 4096;

    /// <summary>
    /// Tokens matched verbatim, given the last ids (GPT-2's layout: &lt;|endoftext|&gt; is the final id). Their
    /// occurrences in the corpus are skipped, so no merges are learned from them. They must not contain a line break.
    /// </summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [BpeTokenizer.EndOfText];

    /// <summary>A pair seen fewer times than this is never merged: a merge learned from one sighting is noise.</summary>
    public int MinFrequency { get; init; } = 2;
}
