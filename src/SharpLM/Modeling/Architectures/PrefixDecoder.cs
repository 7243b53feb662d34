using static TorchSharp.torch;

namespace SharpLM.Modeling.Architectures;

/// <summary>
/// A prefix decoder (non-causal decoder; UniLM, GLM, U-PaLM): GPT's weights and blocks, but the first p positions
/// attend to each other bidirectionally, and only the tokens after them are predicted. Everything else (position
/// encodings, norms, feed-forwards, GQA, sliding windows, the KV cache) is <see cref="Gpt"/>'s, so every
/// component keeps working; only the mask differs.
/// <list type="bullet">
/// <item><see cref="Loss"/>: the prefix-LM objective — per row a prefix length p uniform in [1, T−1], drawn from the
/// row's own tokens (<see cref="RowSeed"/>), and cross-entropy only on the tokens after the prefix (targets[p−1 ..]).</item>
/// <item><c>forward(idx)</c>: prefix 0, i.e. causal — the left-to-right view likelihood scoring needs.</item>
/// <item><see cref="ContinuationLoss"/>: prefix p, loss on targets[p−1 ..].</item>
/// <item><see cref="Decode"/>: the first call on a fresh state is the prefix (bidirectional within it); later calls
/// are causal over everything cached.</item>
/// </list>
/// </summary>
public sealed class PrefixDecoder : Gpt
{
    /// <summary>A freshly initialised prefix decoder as <paramref name="config"/> describes it.</summary>
    /// <exception cref="ArgumentException">The config's architecture is not "prefix_decoder".</exception>
    public PrefixDecoder(ModelConfig config) : base(config)
    {
        if (config.Architecture != "prefix_decoder")
            throw new ArgumentException($"PrefixDecoder needs architecture 'prefix_decoder', not '{config.Architecture}'");
    }

    /// <summary>Logits [B, T, V] with the first <paramref name="prefix"/> positions bidirectional (0 = causal).</summary>
    public Tensor Forward(Tensor idx, int prefix) =>
        prefix == 0 ? Forward(idx, null) : Forward(idx, null, AttentionMasks.Prefix(idx.shape[1], prefix, 0, idx.device));

    /// <summary>The prefix length the objective uses for one row of a window: uniform in [1, T−1], from the row's tokens.</summary>
    public static int PrefixLength(ReadOnlySpan<long> row) => new RowSeed(row).Between(1, row.Length - 1);

    /// <summary>
    /// The prefix-LM objective: each row gets its own prefix length (<see cref="PrefixLength"/>), and cross-entropy
    /// counts only the tokens after the prefix.
    /// </summary>
    /// <exception cref="ArgumentException">The window is shorter than 2 tokens.</exception>
    public override Tensor Loss(Tensor idx, Tensor targets)
    {
        long b = idx.shape[0], t = idx.shape[1];
        if (t < 2) throw new ArgumentException("the prefix-LM objective needs windows of at least 2 tokens");
        long[] rows = idx.cpu().data<long>().ToArray();
        var prefixes = new long[b];
        for (int r = 0; r < b; r++) prefixes[r] = PrefixLength(rows.AsSpan((int)(r * t), (int)t));
        Tensor p = tensor(prefixes, device: idx.device);
        Tensor logits = Forward(idx, null, AttentionMasks.Prefix(t, p));
        // Position i predicts token i+1; tokens inside the prefix (i+1 < p) are given, not predicted.
        Tensor given = arange(0, t, dtype: ScalarType.Int64, device: idx.device).unsqueeze(0) < (p - 1).unsqueeze(1);
        return CrossEntropy(logits, targets.masked_fill(given, -1));
    }

    /// <summary>Mean cross-entropy on targets[:, prefix−1 ..], with the first <paramref name="prefix"/> positions attending bidirectionally.</summary>
    public override Tensor ContinuationLoss(Tensor idx, Tensor targets, int prefix)
    {
        CheckPrefix(idx, prefix);
        Tensor logits = Forward(idx, prefix);
        return CrossEntropy(logits[.., (prefix - 1)..], targets[.., (prefix - 1)..]);
    }

    /// <summary>The first call on a fresh (or cleared) state carries the prefix, which attends bidirectionally.</summary>
    public override Tensor Decode(Tensor tokens, DecodingState state)
    {
        var cache = (KvCache)state;
        if (cache.Length > 0) return Forward(tokens, cache);
        return Forward(tokens, cache, AttentionMasks.Bidirectional(tokens.shape[1], tokens.device));
    }

    /// <summary>One full pass with prefix = the prompt (or, with no prompt, the generated part, as Decode would see it).</summary>
    public override Tensor NextTokenLogits(Tensor prompt, Tensor generated)
    {
        Tensor all = generated.shape[1] == 0 ? prompt : prompt.shape[1] == 0 ? generated : cat(new[] { prompt, generated }, 1);
        int prefix = (int)(prompt.shape[1] > 0 ? prompt.shape[1] : generated.shape[1]);
        return Forward(all, prefix)[.., -1];
    }
}
