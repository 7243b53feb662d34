using SharpLM.Data;
using SharpLM.Runtime;
using TorchSharp;

namespace SharpLM.Tests.Data;

public class BatchSamplerTests
{
    [Fact]
    public void Targets_are_inputs_shifted_by_one_and_seeds_repeat()
    {
        using var dir = new TempDirectory();
        TokenShard.Write(dir.File("s.bin"), Enumerable.Range(0, 500).Select(i => i % 97), 97);
        using var shard = TokenShard.Open(dir.File("s.bin"));
        var a = new BatchSampler(shard, 3, 8, 42);
        var b = new BatchSampler(shard, 3, 8, 42);
        var c = new BatchSampler(shard, 3, 8, 43);
        var (xa, ya) = a.Next(torch.CPU);
        var (xb, _) = b.Next(torch.CPU);
        var (xc, _) = c.Next(torch.CPU);
        Assert.True(xa.Equals(xb));
        Assert.False(xa.Equals(xc));
        long[] x = xa.data<long>().ToArray(), y = ya.data<long>().ToArray();
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < 7; i++)
                Assert.Equal(x[r * 8 + i + 1], y[r * 8 + i]);
    }

    [Fact]
    public void SplitMix64_bounded_draws_stay_in_range_and_resume_from_state()
    {
        var r = new SplitMix64(1);
        for (int i = 0; i < 10000; i++) Assert.InRange(r.NextLong(7), 0, 6);
        var copy = new SplitMix64(r.State);
        Assert.Equal(r.Next(), copy.Next());
    }
}
