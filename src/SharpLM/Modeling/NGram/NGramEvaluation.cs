namespace SharpLM.Modeling.NGram;

/// <summary>How well an n-gram model predicts a text.</summary>
/// <param name="LogLikelihood">Σ ln P over every predicted token, end markers included (−∞ if one has probability 0).</param>
/// <param name="Tokens">Predicted tokens: each sentence's tokens plus its end marker(s).</param>
/// <param name="Characters">Characters of the text: Unicode scalar values plus one newline per line.</param>
public readonly record struct NGramEvaluation(double LogLikelihood, long Tokens, long Characters)
{
    /// <summary>exp(−LogLikelihood / Tokens).</summary>
    public double Perplexity => Math.Exp(-LogLikelihood / Tokens);

    /// <summary>
    /// −log2 likelihood / <see cref="Characters"/>. The end marker is scored and each line's newline counted, so
    /// at character level with <see cref="SentencePadding.KenLm"/> padding (one <c>&lt;/s&gt;</c> = the newline) this
    /// is bits per token over every character of the file, as nanoGPT's character-level loss counts them.
    /// </summary>
    public double BitsPerCharacter => -LogLikelihood / Math.Log(2) / Characters;
}
