namespace SharpLM.Modeling.Architectures;

/// <summary>
/// Randomness drawn from a training row's own tokens: a prefix length or a span layout is a pure function of the
/// row, so the objective needs no global RNG (the trainer runs batch halves on two threads), is reproducible
/// across resumes and gives the same split every time the same row is seen.
/// </summary>
public struct RowSeed
{
    ulong state;

    /// <summary>Seeds a SplitMix64 stream with an FNV-1a hash of <paramref name="tokens"/>.</summary>
    public RowSeed(ReadOnlySpan<long> tokens)
    {
        ulong h = 14695981039346656037UL;
        foreach (long t in tokens)
        {
            ulong v = (ulong)t;
            for (int i = 0; i < 8; i++, v >>= 8) h = (h ^ (v & 0xFF)) * 1099511628211UL;
        }
        state = h;
    }

    /// <summary>SplitMix64 (Steele et al. 2014): well-mixed 64-bit outputs from a counter.</summary>
    public ulong Next()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>] (modulo bias is negligible for window-sized ranges).</summary>
    public int Between(int min, int max) => min + (int)(Next() % (ulong)(max - min + 1));
}
