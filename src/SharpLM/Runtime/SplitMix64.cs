namespace SharpLM.Runtime;

/// <summary>
/// A tiny random generator whose whole state is one 64-bit number, so a checkpoint can store it and a resumed run
/// draws exactly the batches an uninterrupted run would have drawn (System.Random's state cannot be saved).
/// </summary>
public sealed class SplitMix64
{
    /// <summary>A generator starting from <paramref name="state"/> (a seed, or a state saved earlier).</summary>
    public SplitMix64(ulong state) => State = state;

    /// <summary>The whole state: read it to save the generator, set it to resume from where it was saved.</summary>
    public ulong State { get; set; }

    /// <summary>The next 64 uniformly random bits; advances <see cref="State"/>.</summary>
    public ulong Next()
    {
        ulong z = State += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, bound), unbiased (Lemire's multiply-and-reject).</summary>
    public long NextLong(long bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound));
        ulong range = (ulong)bound;
        UInt128 m = (UInt128)Next() * range;
        ulong low = (ulong)m;
        if (low < range)
        {
            ulong threshold = (0 - range) % range;
            while (low < threshold)
            {
                m = (UInt128)Next() * range;
                low = (ulong)m;
            }
        }
        return (long)(m >> 64);
    }
}
