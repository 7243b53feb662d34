using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Modeling;

public class PackedRowsTests
{
    static Gpt Model(string position, int kvHeads = 0, int window = 0, string architecture = "causal_decoder", bool tokenShift = false)
    {
        torch.manual_seed(5);
        var model = (Gpt)LanguageModel.Create(TinyRuns.Model() with { PositionEncoding = position, NKvHead = kvHeads, SlidingWindow = window, Architecture = architecture, TokenShift = tokenShift ? 2 : 0 });
        model.eval();
        ComponentTests.ShiftWeightsAwayFromZero(model);
        return model;
    }

    // Two rows, packed differently; the second row reuses segment id 0 after 1 (a new run starts a new segment).
    static readonly int[][] Segments = { new[] { 5, 7, 4 }, new[] { 3, 9, 1, 3 } };

    static (Tensor Ids, Tensor SegmentIds) Packed()
    {
        var ids = randint(0, 32, new long[] { 2, 16 }, dtype: ScalarType.Int64);
        var seg = new long[2, 16];
        for (int r = 0; r < 2; r++)
        {
            int at = 0;
            for (int s = 0; s < Segments[r].Length; s++)
                for (int i = 0; i < Segments[r][s]; i++) seg[r, at++] = r == 1 && s == 2 ? 0 : s;
        }
        return (ids, tensor(seg));
    }

    [Theory]
    [InlineData("learned", 0, 0, "causal_decoder")]
    [InlineData("sinusoidal", 0, 0, "causal_decoder")]
    [InlineData("rope", 1, 0, "causal_decoder")]
    [InlineData("alibi", 0, 0, "causal_decoder")]
    [InlineData("t5", 0, 0, "causal_decoder")]
    [InlineData("rope", 0, 4, "causal_decoder")]
    [InlineData("learned", 0, 0, "prefix_decoder")]
    [InlineData("rope", 0, 0, "causal_decoder", true)] // the shift must not carry a token into the next segment
    [InlineData("learned", 0, 0, "prefix_decoder", true)]
    public void Each_packed_segment_gets_the_logits_it_gets_alone(string position, int kvHeads, int window, string architecture, bool tokenShift = false)
    {
        var model = Model(position, kvHeads, window, architecture, tokenShift);
        var (ids, seg) = Packed();
        using var _ = no_grad();
        var packed = model.ForwardPacked(ids, seg);
        for (int r = 0; r < 2; r++)
        {
            int start = 0;
            foreach (int length in Segments[r])
            {
                var alone = model.forward(ids[r..(r + 1), start..(start + length)]);
                var inPack = packed[r..(r + 1), start..(start + length)];
                double diff = (alone - inPack).abs().max().item<float>();
                Assert.True(diff <= 1e-5, $"row {r}, segment at {start}: differs by {diff}");
                start += length;
            }
        }
    }

    [Theory]
    [InlineData("learned")]
    [InlineData("alibi")]
    [InlineData("t5")]
    public void Changing_one_segment_never_changes_another(string position)
    {
        var model = Model(position);
        var (ids, seg) = Packed();
        using var _ = no_grad();
        var before = model.ForwardPacked(ids, seg);
        var changed = ids.clone();
        changed[0, 5..12] = (changed[0, 5..12] + 1) % 32;    // row 0's middle segment
        var after = model.ForwardPacked(changed, seg);
        Assert.True(before[0, ..5].Equals(after[0, ..5]), "the earlier segment changed");
        Assert.True(before[0, 12..].Equals(after[0, 12..]), "the later segment changed");
        Assert.True(before[1].Equals(after[1]), "the other row changed");
        Assert.False(before[0, 5..12].allclose(after[0, 5..12], rtol: 0, atol: 1e-6), "the changed segment did not change");
    }

    [Fact]
    public void Positions_restart_at_every_segment()
    {
        var (positions, visible) = PackedRows.Layout(tensor(new long[,] { { 4, 4, 4, 9, 9, 4 } }));
        Assert.Equal(new long[] { 0, 1, 2, 0, 1, 0 }, positions.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 6, 6 }, visible.shape);
        Assert.True(visible[0, 0, 4, 3].item<bool>());
        Assert.False(visible[0, 0, 4, 2].item<bool>());
        Assert.False(visible[0, 0, 5, 0].item<bool>()); // id 4 again, but a new segment
    }

    [Fact]
    public void Packed_loss_ignores_targets_of_minus_one()
    {
        torch.manual_seed(8);
        var model = new Gpt(TinyRuns.Model());
        model.eval();
        var ids = randint(0, 32, new long[] { 1, 8 }, dtype: ScalarType.Int64);
        var seg = tensor(new long[,] { { 0, 0, 0, 1, 1, 1, 1, 1 } });
        var targets = tensor(new long[,] { { 5, 6, -1, 7, 8, 9, 10, -1 } });
        using var _ = no_grad();
        var logits = model.ForwardPacked(ids, seg);
        var kept = new[] { 0, 1, 3, 4, 5, 6 };
        var expected = nn.functional.cross_entropy(logits[0].index_select(0, tensor(kept.Select(i => (long)i).ToArray())), tensor(new long[] { 5, 6, 7, 8, 9, 10 }));
        Assert.True(model.LossPacked(ids, seg, targets).allclose(expected, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void Mismatched_shapes_are_rejected()
    {
        var model = Model("learned");
        Assert.Throws<ArgumentException>(() => model.ForwardPacked(zeros(1, 8, dtype: ScalarType.Int64), zeros(1, 7, dtype: ScalarType.Int64)));
    }
}
