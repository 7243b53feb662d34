using SharpLM.Modeling.Architectures;

namespace SharpLM.Tests.Modeling.Architectures;

public class SpanCorruptionTests
{
    static long[] Row(int seed, int length = 100) { var rng = new Random(seed); return Enumerable.Range(0, length).Select(_ => (long)rng.Next(50)).ToArray(); }

    static int Runs(bool[] mask) => mask.Where((noise, i) => noise && (i == 0 || !mask[i - 1])).Count();

    [Theory]
    [InlineData(100, 15, 5)]
    [InlineData(40, 6, 2)]
    [InlineData(16, 2, 1)]
    [InlineData(2, 1, 1)]
    public void Exactly_round_T_times_density_noise_tokens_in_round_noise_over_mean_span_spans(int length, int noise, int spans)
    {
        Assert.Equal((noise, spans), SpanCorruption.Counts(length, 0.15, 3.0));
        for (int seed = 0; seed < 20; seed++)
        {
            var mask = SpanCorruption.NoiseMask(Row(seed, length), 0.15, 3.0);
            Assert.Equal(noise, mask.Count(m => m));
            Assert.Equal(spans, Runs(mask));
            Assert.False(mask[0]);   // T5's layout starts with kept tokens …
            Assert.True(mask[^1]);   // … and ends with a span, as a continuation does
        }
    }

    [Fact]
    public void Inputs_and_targets_reconstruct_the_window_and_have_the_announced_lengths()
    {
        const long sentinel0 = 1000;
        for (int seed = 0; seed < 20; seed++)
        {
            long[] row = Row(seed);
            var (enc, decIn, decOut) = SpanCorruption.Corrupt(row, SpanCorruption.NoiseMask(row, 0.15, 3.0), sentinel0);
            Assert.Equal(SpanCorruption.Lengths(100, 0.15, 3.0), (enc.Length, decIn.Length));
            Assert.Equal(decIn.Length, decOut.Length);
            Assert.Equal(sentinel0, decIn[0]);                          // the start token is sentinel 0
            Assert.Equal(decIn.Skip(1), decOut.Take(decOut.Length - 1)); // teacher forcing: input = target shifted right
            long[] target = decIn.Take(1).Concat(decOut).ToArray();      // sentinel 0, span 0, sentinel 1, span 1, …
            var spans = new Dictionary<long, List<long>>();
            long current = -1;
            foreach (long id in target)
                if (id >= sentinel0) spans[current = id] = new List<long>();
                else spans[current].Add(id);
            Assert.Equal(Enumerable.Range(0, spans.Count).Select(i => sentinel0 + i), spans.Keys);
            var rebuilt = enc.SelectMany(id => id >= sentinel0 ? spans[id] : new List<long> { id }).ToArray();
            Assert.Equal(row, rebuilt);
        }
    }

    [Fact]
    public void Spans_are_a_function_of_the_row_and_differ_between_rows()
    {
        long[] row = Row(1);
        Assert.Equal(SpanCorruption.NoiseMask(row, 0.15, 3.0), SpanCorruption.NoiseMask(row.ToArray(), 0.15, 3.0));
        var layouts = Enumerable.Range(0, 10).Select(s => string.Concat(SpanCorruption.NoiseMask(Row(s), 0.15, 3.0).Select(m => m ? '1' : '0'))).ToHashSet();
        Assert.True(layouts.Count >= 8, $"only {layouts.Count} layouts for 10 rows");
        long[] changed = row.ToArray();
        changed[50] = (changed[50] + 1) % 50;
        Assert.NotEqual(SpanCorruption.NoiseMask(row, 0.15, 3.0), SpanCorruption.NoiseMask(changed, 0.15, 3.0));
    }
}
