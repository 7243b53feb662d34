using SharpLM.Runtime;

namespace SharpLM.Data.Dedup;

/// <summary>
/// MinHash signatures (Broder 1997): for each of k random hash functions, the minimum hash over a document's
/// shingles. The fraction of positions where two signatures agree estimates the Jaccard similarity of the two
/// shingle sets, with standard error √(J(1−J)/k). Hash functions are h(x) = (a·x + b) mod p with p = 2⁶¹−1 and
/// a, b drawn from a seed over [1, p) (as datasketch), applied to the low 32 bits of each shingle hash. a and b
/// must span the whole field: with small a the map is nearly monotone in x and every "permutation" picks the
/// same minima, which biases the estimate.
/// </summary>
public sealed class MinHasher
{
    const ulong MersennePrime = (1UL << 61) - 1;
    readonly ulong[] a, b;

    public MinHasher(int permutations = 128, ulong seed = 1)
    {
        if (permutations < 1) throw new ArgumentOutOfRangeException(nameof(permutations));
        var random = new SplitMix64(seed);
        a = new ulong[permutations];
        b = new ulong[permutations];
        for (int i = 0; i < permutations; i++)
        {
            a[i] = 1 + random.Next() % (MersennePrime - 1);
            b[i] = random.Next() % MersennePrime;
        }
    }

    public int Permutations => a.Length;

    /// <summary>Signature of a shingle set; an empty set gives all-max values (similar to nothing but other empties).</summary>
    public uint[] Signature(IEnumerable<ulong> shingles)
    {
        var min = new ulong[a.Length];
        Array.Fill(min, ulong.MaxValue);
        foreach (ulong shingle in shingles)
        {
            ulong x = shingle & 0xFFFFFFFFUL;
            for (int i = 0; i < min.Length; i++)
            {
                // a·x < 2⁹³: reduce the 128-bit product mod 2⁶¹−1 by folding (2⁶¹ ≡ 1), no division.
                ulong hi = Math.BigMul(a[i], x, out ulong lo);
                ulong v = (lo & MersennePrime) + ((hi << 3) | (lo >> 61)) + b[i];
                v = (v & MersennePrime) + (v >> 61);
                if (v >= MersennePrime) v -= MersennePrime;
                if (v < min[i]) min[i] = v;
            }
        }
        var signature = new uint[min.Length];
        for (int i = 0; i < min.Length; i++) signature[i] = (uint)min[i]; // 32 bits per value, as datasketch stores them
        return signature;
    }

    /// <summary>Estimated Jaccard similarity: the fraction of equal signature positions.</summary>
    public static double Similarity(ReadOnlySpan<uint> x, ReadOnlySpan<uint> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("signatures of different lengths");
        int equal = 0;
        for (int i = 0; i < x.Length; i++) if (x[i] == y[i]) equal++;
        return (double)equal / x.Length;
    }
}
