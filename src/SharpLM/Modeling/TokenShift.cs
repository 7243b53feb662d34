using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// Token shift (RWKV's "time mix", modded-nanogpt's "smear", the short convolution of H3 / Mamba / Canon layers):
/// each token's embedding plus a learned per-channel share of the previous token's, x_t + w ⊙ x_{t−1}.
/// <para>Why: copying from the context — an induction head, "find the earlier A, say what came after it" — needs a
/// key that knows the token before it. A plain Transformer builds that key by composing two layers (a
/// previous-token head, then the lookup), and learns the composition only after a long plateau; small models on a
/// laptop budget often never leave it. With the previous token already in the embedding, one attention layer can
/// match on it. w starts at zero, so a new model starts as the plain Transformer and learns how much to mix.</para>
/// <para>The first token of a sequence, of a packed segment (position 0) and of a soft prompt's tokens has no
/// previous token; when decoding with a cache, the previous token of the first new one is the cache's last.</para>
/// </summary>
public sealed class TokenShift : nn.Module
{
    readonly Parameter weight;

    /// <summary>A shift over <paramref name="channels"/> embedding channels, its weights zero.</summary>
    public TokenShift(int channels) : base(nameof(TokenShift))
    {
        weight = nn.Parameter(zeros(channels));
        RegisterComponents();
    }

    /// <summary>
    /// x + w ⊙ (x shifted one position right) for <paramref name="x"/> [B, T, C]; <paramref name="before"/> [B, 1, C]
    /// is the embedding before the first position (null: none); where <paramref name="positions"/> [B, T] (packed rows)
    /// is 0 a segment starts and nothing is mixed in.
    /// </summary>
    public Tensor Apply(Tensor x, Tensor? before, Tensor? positions)
    {
        Tensor previous = before is null
            ? F.pad(x[.., ..^1], new long[] { 0, 0, 1, 0 })
            : cat(new[] { before.to(x.dtype), x[.., ..^1] }, 1);
        if (positions is not null) previous = previous * (positions > 0).unsqueeze(-1).to(x.dtype);
        return x + weight.to(x.dtype) * previous;
    }
}
