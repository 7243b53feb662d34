namespace SharpLM.Data.Dedup;

/// <summary>Settings for near-duplicate detection.</summary>
public sealed record MinHashOptions
{
    /// <summary>Tokens per shingle (words; characters in CJK text).</summary>
    public int ShingleSize { get; init; } = 5;
    /// <summary>Hash functions per signature (k): more give a finer similarity estimate at proportional cost.</summary>
    public int Permutations { get; init; } = 128;
    /// <summary>Estimated Jaccard similarity at or above which a document is a near-duplicate.</summary>
    public double Threshold { get; init; } = 0.8;
    /// <summary>LSH banding; null chooses it from the threshold (<see cref="LshParameters.Optimal"/>).</summary>
    public LshParameters? Lsh { get; init; }
    /// <summary>Seed of the hash functions; documents are only comparable under the same seed.</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>What the deduplicator decided about one document.</summary>
/// <param name="IsDuplicate">True when the document joins an earlier cluster and is to be dropped.</param>
/// <param name="DuplicateOf">Id of the kept document whose cluster this one joins, or null if it is kept.</param>
/// <param name="Similarity">Estimated Jaccard similarity to the closest earlier document found.</param>
public sealed record DedupDecision(bool IsDuplicate, string? DuplicateOf, double Similarity);

/// <summary>
/// Streaming near-duplicate removal with MinHash-LSH. Documents arrive in order; the first of each cluster is kept.
/// Each new signature is looked up band by band; every earlier document sharing a band is a candidate, and a
/// candidate whose signature agrees in at least threshold × k positions makes the new document a duplicate of that
/// candidate's cluster. Duplicates are indexed too, so a chain of small edits still finds its cluster. Signature
/// computation (<see cref="Signature"/>) is thread-safe and is where the work is; <see cref="Add"/> must be called
/// in input order for a deterministic result.
/// </summary>
public sealed class MinHashDeduplicator
{
    readonly MinHashOptions options;
    readonly MinHasher hasher;
    readonly Dictionary<ulong, int>[] bandHeads;          // band key → newest document with it
    readonly List<int> previousWithSameKey = new();       // per (document, band): the next older document, or -1
    readonly List<uint[]> signatures = new();
    readonly List<int> clusterOf = new();                 // document → index of its cluster's kept document
    readonly List<string> ids = new();
    readonly Dictionary<int, List<string>> members = new();
    readonly HashSet<int> candidatesSeen = new(); // reused: Add runs once per document, in order

    /// <summary>An empty index using <paramref name="options"/>, or the defaults when null.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is outside (0, 1].</exception>
    /// <exception cref="ArgumentException">The LSH bands need more values than the signature has.</exception>
    public MinHashDeduplicator(MinHashOptions? options = null)
    {
        this.options = options ?? new MinHashOptions();
        if (this.options.Threshold is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(options), "threshold must be in (0, 1]");
        Lsh = this.options.Lsh ?? LshParameters.Optimal(this.options.Threshold, this.options.Permutations);
        if (Lsh.Permutations > this.options.Permutations) throw new ArgumentException($"bands × rows ({Lsh.Permutations}) exceeds permutations ({this.options.Permutations})");
        hasher = new MinHasher(this.options.Permutations, this.options.Seed);
        bandHeads = Enumerable.Range(0, Lsh.Bands).Select(_ => new Dictionary<ulong, int>()).ToArray();
    }

    /// <summary>The banding in use: the options' own, or the optimum for the threshold.</summary>
    public LshParameters Lsh { get; }
    /// <summary>Documents added so far, duplicates included.</summary>
    public int Documents => ids.Count;
    /// <summary>Documents added so far that were not duplicates.</summary>
    public int Kept { get; private set; }

    /// <summary>Kept document id → ids of the duplicates removed in its favour (clusters with duplicates only).</summary>
    public IReadOnlyDictionary<string, List<string>> Clusters => members.ToDictionary(kv => ids[kv.Key], kv => kv.Value);

    /// <summary>The MinHash signature of <paramref name="text"/>'s shingles, for <see cref="Add"/>. Thread-safe.</summary>
    public uint[] Signature(string text)
    {
        var shingles = shingleBuffer ??= new List<ulong>();
        shingles.Clear();
        Shingles.Append(text, options.ShingleSize, tokenBuffer ??= new List<ulong>(), shingles);
        return hasher.Signature(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shingles));
    }

    // Per thread, because signatures are computed on every core; reuse keeps allocation out of the hot loop.
    [ThreadStatic] static List<ulong>? shingleBuffer, tokenBuffer;

    /// <summary>
    /// Decides whether the document is a near-duplicate of an earlier one and indexes it either way. Call once per
    /// document, in input order.
    /// </summary>
    /// <param name="id">The document id, reported in <see cref="Clusters"/> and in later decisions.</param>
    /// <param name="signature">From <see cref="Signature"/> of this deduplicator.</param>
    /// <exception cref="ArgumentException">The signature's length is not <see cref="MinHashOptions.Permutations"/>.</exception>
    public DedupDecision Add(string id, uint[] signature)
    {
        if (signature.Length != options.Permutations) throw new ArgumentException("signature from another MinHasher");
        int doc = ids.Count;
        var keys = new ulong[Lsh.Bands];
        int best = -1;
        double bestSimilarity = 0;
        var seen = candidatesSeen;
        seen.Clear();
        for (int band = 0; band < Lsh.Bands; band++)
        {
            keys[band] = BandKey(signature, band);
            if (!bandHeads[band].TryGetValue(keys[band], out int candidate)) continue;
            for (; candidate >= 0; candidate = previousWithSameKey[candidate * Lsh.Bands + band])
            {
                if (!seen.Add(candidate)) continue;
                double s = MinHasher.Similarity(signature, signatures[candidate]);
                if (s > bestSimilarity) (best, bestSimilarity) = (candidate, s);
            }
        }

        bool duplicate = best >= 0 && bestSimilarity >= options.Threshold;
        int cluster = duplicate ? clusterOf[best] : doc;
        ids.Add(id);
        signatures.Add(signature);
        clusterOf.Add(cluster);
        for (int band = 0; band < Lsh.Bands; band++)
        {
            previousWithSameKey.Add(bandHeads[band].TryGetValue(keys[band], out int older) ? older : -1);
            bandHeads[band][keys[band]] = doc;
        }
        if (!duplicate)
        {
            Kept++;
            return new DedupDecision(false, null, bestSimilarity);
        }
        if (!members.TryGetValue(cluster, out var list)) members[cluster] = list = new List<string>();
        list.Add(id);
        return new DedupDecision(true, ids[cluster], bestSimilarity);
    }

    ulong BandKey(uint[] signature, int band)
    {
        ulong h = 0x9E3779B97F4A7C15UL * (ulong)(band + 1);
        for (int r = band * Lsh.Rows; r < (band + 1) * Lsh.Rows; r++)
        {
            h ^= signature[r];
            h *= 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }
        return h;
    }
}
