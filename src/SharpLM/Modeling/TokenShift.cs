using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Token shift (RWKV's "time mix", modded-nanogpt's "smear"; with several taps, the short causal convolution of H3,
/// Mamba and Canon layers): each token's embedding plus a learned per-channel share of each of the
/// <see cref="Taps"/> tokens before it, x_t + Σ_k w_k ⊙ x_{t−k}.
/// <para>Why: copying from the context — an induction head, "find the earlier A, say what came after it" — needs a
/// key that knows the token before it. A plain Transformer builds that key by composing two layers (a
/// previous-token head, then the lookup), and learns the composition only after a long plateau; small models on a
/// laptop budget often never leave it. With the previous tokens already in the embedding, one attention layer can
/// match on them — on two of them with two taps, which tells apart the two places a repeated digit occurs. The
/// weights start at zero, so a new model starts as the plain Transformer and learns how much to mix.</para>
/// <para>The first tokens of a sequence, of a packed segment (positions restart at 0) and of a soft prompt's tokens
/// have nothing before them; when decoding with a cache, the tokens before the first new one are the cache's last.</para>
/// </summary>
public sealed class TokenShift : nn.Module
{
    readonly Parameter weight;

    /// <summary>A shift over <paramref name="taps"/> previous tokens and <paramref name="channels"/> embedding channels, its weights zero.</summary>
    public TokenShift(int taps, int channels) : base(nameof(TokenShift))
    {
        Taps = taps;
        weight = nn.Parameter(zeros(taps, channels));
        RegisterComponents();
    }

    /// <summary>How many previous tokens are mixed in.</summary>
    public int Taps { get; }

    /// <summary>
    /// x + Σ_k w_k ⊙ (x shifted k positions right) for <paramref name="x"/> [B, T, C]. <paramref name="before"/>
    /// [B, Taps, C] holds the embeddings of the Taps positions before the first (null: none, as zeros); where
    /// <paramref name="positions"/> [B, T] (packed rows) is below k, the token k back is in another segment and is
    /// not mixed in. Returns the result and the last Taps embeddings of the whole sequence (the next call's
    /// <paramref name="before"/>).
    /// </summary>
    public (Tensor Mixed, Tensor Last) Apply(Tensor x, Tensor? before, Tensor? positions)
    {
        long t = x.shape[1];
        Tensor padded = cat(new[] { before?.to(x.dtype) ?? zeros(new long[] { x.shape[0], Taps, x.shape[2] }, x.dtype, x.device), x }, 1);
        Tensor mixed = x;
        for (int k = 1; k <= Taps; k++)
        {
            Tensor previous = padded.narrow(1, Taps - k, t);
            if (positions is not null) previous = previous * (positions >= k).unsqueeze(-1).to(x.dtype);
            mixed = mixed + weight[k - 1].to(x.dtype) * previous;
        }
        return (mixed, padded.narrow(1, t, Taps));
    }
}
