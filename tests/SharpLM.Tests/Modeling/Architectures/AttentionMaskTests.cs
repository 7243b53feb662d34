using SharpLM.Modeling.Architectures;
using static TorchSharp.torch;

namespace SharpLM.Tests.Modeling.Architectures;

/// <summary>The survey's three attention patterns, written out (1 = the row's query may attend to the column's key).</summary>
public class AttentionMaskTests
{
    static int[][] Rows(Tensor mask)
    {
        long rows = mask.shape[0], cols = mask.shape[1];
        bool[] data = mask.data<bool>().ToArray();
        return Enumerable.Range(0, (int)rows).Select(r => Enumerable.Range(0, (int)cols).Select(c => data[r * cols + c] ? 1 : 0).ToArray()).ToArray();
    }

    [Fact]
    public void Causal_mask_is_lower_triangular()
    {
        Assert.Equal(new[]
        {
            new[] { 1, 0, 0, 0, 0 },
            new[] { 1, 1, 0, 0, 0 },
            new[] { 1, 1, 1, 0, 0 },
            new[] { 1, 1, 1, 1, 0 },
            new[] { 1, 1, 1, 1, 1 },
        }, Rows(AttentionMasks.Causal(5)));
    }

    [Fact]
    public void Prefix_mask_is_bidirectional_over_the_first_p_positions_and_causal_after()
    {
        Assert.Equal(new[]
        {
            new[] { 1, 1, 0, 0, 0 },
            new[] { 1, 1, 0, 0, 0 },
            new[] { 1, 1, 1, 0, 0 },
            new[] { 1, 1, 1, 1, 0 },
            new[] { 1, 1, 1, 1, 1 },
        }, Rows(AttentionMasks.Prefix(5, 2)));
        Assert.Equal(Rows(AttentionMasks.Causal(5)), Rows(AttentionMasks.Prefix(5, 0)));
        Assert.Equal(Rows(AttentionMasks.Bidirectional(5)), Rows(AttentionMasks.Prefix(5, 5)));
    }

    [Fact]
    public void Prefix_mask_for_new_queries_after_a_cached_prefix_sees_the_whole_prefix()
    {
        // Queries 3 and 4 after 3 cached positions, prefix 2.
        Assert.Equal(new[]
        {
            new[] { 1, 1, 1, 1, 0 },
            new[] { 1, 1, 1, 1, 1 },
        }, Rows(AttentionMasks.Prefix(2, 2, start: 3)));
    }

    [Fact]
    public void Per_row_prefix_masks_differ_by_row()
    {
        var masks = AttentionMasks.Prefix(4, tensor(new long[] { 1, 3 }));
        Assert.Equal(new long[] { 2, 1, 4, 4 }, masks.shape);
        Assert.Equal(new[]
        {
            new[] { 1, 0, 0, 0 },
            new[] { 1, 1, 0, 0 },
            new[] { 1, 1, 1, 0 },
            new[] { 1, 1, 1, 1 },
        }, Rows(masks[0, 0]));
        Assert.Equal(new[]
        {
            new[] { 1, 1, 1, 0 },
            new[] { 1, 1, 1, 0 },
            new[] { 1, 1, 1, 0 },
            new[] { 1, 1, 1, 1 },
        }, Rows(masks[1, 0]));
    }

    [Fact]
    public void Encoder_is_bidirectional_and_cross_attention_sees_the_whole_encoder_output()
    {
        Assert.Equal(new[]
        {
            new[] { 1, 1, 1, 1, 1 },
            new[] { 1, 1, 1, 1, 1 },
            new[] { 1, 1, 1, 1, 1 },
            new[] { 1, 1, 1, 1, 1 },
            new[] { 1, 1, 1, 1, 1 },
        }, Rows(AttentionMasks.Bidirectional(5)));
        // 3 decoder queries over 4 encoder positions: no causality across the two stacks.
        Assert.Equal(new[]
        {
            new[] { 1, 1, 1, 1 },
            new[] { 1, 1, 1, 1 },
            new[] { 1, 1, 1, 1 },
        }, Rows(AttentionMasks.Cross(3, 4)));
    }
}
