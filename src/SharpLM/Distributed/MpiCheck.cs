using System.Diagnostics;

namespace SharpLM.Distributed;

/// <summary>One collective checked and timed by <see cref="MpiCheck"/>.</summary>
/// <param name="Collective">allreduce, reduce_scatter or allgather.</param>
/// <param name="Elements">float32 values per rank.</param>
/// <param name="Correct">Every value equals the closed form on this rank.</param>
/// <param name="MillisecondsPerCall">Mean over the timed repeats, on this rank.</param>
/// <param name="BusBandwidthGBps">NCCL-tests' "bus bandwidth": bytes × 2(N−1)/N for all-reduce, × (N−1)/N for the others, per second.</param>
public sealed record CollectiveResult(string Collective, int Elements, bool Correct, double MillisecondsPerCall, double BusBandwidthGBps);

/// <summary>
/// What `sharplm mpi check` runs on every rank (after nccl-tests): each collective on values whose result has a closed
/// form — rank r contributes r + (i mod 1000)/1024 at index i — checked exactly, then timed. Sums of small multiples of
/// 1/1024 are exact in float32, so any wrong byte or block order shows.
/// </summary>
public static class MpiCheck
{
    /// <summary>Checks and times all-reduce, reduce-scatter and all-gather at each of <paramref name="sizes"/> (elements per rank).</summary>
    public static IReadOnlyList<CollectiveResult> Run(Mpi mpi, IReadOnlyList<int> sizes, int repeats = 5)
    {
        var results = new List<CollectiveResult>();
        int n = mpi.Size, r = mpi.Rank;
        double ranksSum = n * (n - 1) / 2.0;
        foreach (int size in sizes)
        {
            int count = size / n * n; // reduce-scatter needs equal blocks
            var values = new float[count];
            void Fill() { for (int i = 0; i < count; i++) values[i] = r + (i % 1000) / 1024f; }

            Fill();
            mpi.AllReduceSum(values);
            bool ok = true;
            for (int i = 0; i < count; i++) ok &= values[i] == (float)(ranksSum + n * ((i % 1000) / 1024.0));
            double ms = Time(mpi, repeats, () => mpi.AllReduceSum(values));
            results.Add(new("allreduce", count, ok, ms, Bandwidth(count, n, 2.0 * (n - 1) / n, ms)));

            Fill();
            var block = new float[count / n];
            mpi.ReduceScatterSum(values, block);
            ok = true;
            for (int j = 0; j < block.Length; j++)
            {
                int i = r * block.Length + j;
                ok &= block[j] == (float)(ranksSum + n * ((i % 1000) / 1024.0));
            }
            ms = Time(mpi, repeats, () => mpi.ReduceScatterSum(values, block));
            results.Add(new("reduce_scatter", count, ok, ms, Bandwidth(count, n, (n - 1.0) / n, ms)));

            for (int j = 0; j < block.Length; j++) block[j] = r * 1000 + j % 1000;
            var all = new float[count];
            mpi.AllGather(block, all);
            ok = true;
            for (int i = 0; i < count; i++) ok &= all[i] == (i / block.Length) * 1000 + (i % block.Length) % 1000;
            ms = Time(mpi, repeats, () => mpi.AllGather(block, all));
            results.Add(new("allgather", count, ok, ms, Bandwidth(count, n, (n - 1.0) / n, ms)));
        }
        return results;
    }

    static double Time(Mpi mpi, int repeats, Action call)
    {
        mpi.Barrier();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) call();
        mpi.Barrier();
        return clock.Elapsed.TotalMilliseconds / repeats;
    }

    static double Bandwidth(int count, int ranks, double factor, double ms) => ranks == 1 ? 0 : count * 4.0 * factor / (ms / 1000) / 1e9;
}
