using SharpLM.Runtime;

namespace SharpLM.Data.Mixture;

/// <summary>
/// Splits a source's documents into <see cref="Count"/> seeded pseudo-random buckets; a sample is "every document in
/// buckets below a cutoff". The bucket depends only on the seed, source name and document id — not on the
/// document's position — so a run repeats bit-for-bit and adding files to a source does not change which of the
/// old documents are kept.
/// </summary>
internal static class SelectionBucket
{
    /// <summary>A sample misses its target by at most half a bucket's units: half a document of a small source, ~1/131,072 of a large one.</summary>
    public const int Count = 1 << 16;

    const ulong FnvOffset = 14695981039346656037UL, FnvPrime = 1099511628211UL;

    public static int Of(ulong seed, string source, string id)
    {
        ulong h = FnvOffset;
        foreach (char c in source) h = (h ^ c) * FnvPrime;
        h = (h ^ '\uFFFF') * FnvPrime; // a noncharacter between the two strings: ("ab", "c") and ("a", "bc") differ
        foreach (char c in id) h = (h ^ c) * FnvPrime;
        // FNV-1a spreads its last characters poorly into the high bits; SplitMix64's finaliser mixes every bit
        // and folds in the seed, so other seeds give unrelated buckets.
        return (int)(new SplitMix64(h ^ seed).Next() >> 48);
    }
}
