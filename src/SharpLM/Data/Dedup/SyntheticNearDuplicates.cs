using SharpLM.Runtime;

namespace SharpLM.Data.Dedup;

/// <summary>One document of the synthetic benchmark, with the truth about it.</summary>
/// <param name="Id">"doc0", "doc1", … in the order the documents are returned.</param>
/// <param name="Text">The passage or an edited copy of it.</param>
/// <param name="Cluster">Source passage it was derived from (unrelated documents have their own).</param>
/// <param name="IsDuplicate">Some earlier document has exact shingle Jaccard ≥ the threshold with it.</param>
/// <param name="BestEarlierJaccard">Highest exact Jaccard with any earlier document of its cluster.</param>
public sealed record SyntheticDocument(string Id, string Text, int Cluster, bool IsDuplicate, double BestEarlierJaccard);

/// <summary>
/// A near-duplicate benchmark built from real text: passages cut from a corpus, each followed by copies made
/// with random word substitutions, insertions and deletions. Light edits give near-duplicates (Jaccard ≈ 0.85–1),
/// heavy edits give related documents that are not duplicates (≈ 0.2–0.6), and untouched passages are unrelated.
/// Pairs within a few hundredths of the threshold are coin flips for any MinHash with ~128 permutations
/// (standard error ≈ 0.035 at 0.8), so the edit rates leave a margin around it.
/// The exact shingle Jaccard of every pair within a cluster is computed, so the truth does not depend on MinHash.
/// </summary>
public static class SyntheticNearDuplicates
{
    /// <summary>
    /// Cuts <paramref name="clusters"/> + <paramref name="unrelated"/> non-overlapping passages from
    /// <paramref name="corpus"/>, adds <paramref name="copiesPerCluster"/> edited copies of each of the first
    /// <paramref name="clusters"/>, shuffles everything and labels each document against the earlier ones.
    /// </summary>
    /// <param name="corpus">Real text, split on whitespace into words.</param>
    /// <param name="clusters">Passages that get edited copies.</param>
    /// <param name="copiesPerCluster">Edited copies per such passage; every third is heavily edited.</param>
    /// <param name="unrelated">Passages without copies.</param>
    /// <param name="threshold">Exact Jaccard at or above which a document counts as a duplicate.</param>
    /// <param name="shingleSize">Words per shingle for the exact Jaccard.</param>
    /// <param name="passageWords">Words per passage.</param>
    /// <param name="seed">Seed of the edits and the shuffle.</param>
    /// <exception cref="ArgumentException">The corpus has too few words for that many passages.</exception>
    public static List<SyntheticDocument> Generate(string corpus, int clusters, int copiesPerCluster, int unrelated,
        double threshold = 0.8, int shingleSize = 5, int passageWords = 180, ulong seed = 7)
    {
        var random = new SplitMix64(seed);
        string[] words = corpus.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        int passages = clusters + unrelated;
        int stride = words.Length / passages;
        if (stride < passageWords) throw new ArgumentException($"corpus too small for {passages} passages of {passageWords} words");

        var documents = new List<(string Text, int Cluster)>();
        for (int p = 0; p < passages; p++)
        {
            // Non-overlapping passages, so different clusters share (almost) no shingles.
            var passage = words.Skip(p * stride).Take(passageWords).ToList();
            documents.Add((string.Join(' ', passage), p));
            if (p >= clusters) continue;
            for (int c = 0; c < copiesPerCluster; c++)
            {
                // Light edits (0.3–1.5% of words, Jaccard ≈ 0.85–1) make near-duplicates; every third copy gets
                // heavy edits (8–25%, Jaccard ≈ 0.2–0.6): related, but not a duplicate.
                double rate = c % 3 == 2 ? 0.08 + 0.17 * Uniform(random) : 0.003 + 0.012 * Uniform(random);
                documents.Add((string.Join(' ', Edit(passage, words, rate, random)), p));
            }
        }
        Shuffle(documents, random);

        var shingles = documents.Select(d => Shingles.Of(d.Text, shingleSize)).ToList();
        var result = new List<SyntheticDocument>(documents.Count);
        for (int i = 0; i < documents.Count; i++)
        {
            double best = 0;
            for (int j = 0; j < i; j++)
                if (documents[j].Cluster == documents[i].Cluster) best = Math.Max(best, Jaccard(shingles[i], shingles[j]));
            result.Add(new SyntheticDocument($"doc{i}", documents[i].Text, documents[i].Cluster, best >= threshold, best));
        }
        return result;
    }

    /// <summary>Exact Jaccard similarity |a ∩ b| / |a ∪ b| of two shingle sets; 1 when both are empty.</summary>
    public static double Jaccard(HashSet<ulong> a, HashSet<ulong> b)
    {
        if (a.Count == 0 && b.Count == 0) return 1;
        int common = a.Count(b.Contains);
        return (double)common / (a.Count + b.Count - common);
    }

    static List<string> Edit(List<string> passage, string[] vocabulary, double rate, SplitMix64 random)
    {
        var edited = new List<string>(passage.Count + 8);
        foreach (string word in passage)
        {
            if (Uniform(random) >= rate) { edited.Add(word); continue; }
            switch (random.NextLong(3))
            {
                case 0: edited.Add(vocabulary[random.NextLong(vocabulary.Length)]); break;            // substitute
                case 1: edited.Add(word); edited.Add(vocabulary[random.NextLong(vocabulary.Length)]); break; // insert
                default: break;                                                                        // delete
            }
        }
        return edited;
    }

    static double Uniform(SplitMix64 random) => (random.Next() >> 11) * (1.0 / (1UL << 53));

    static void Shuffle<T>(List<T> list, SplitMix64 random)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = (int)random.NextLong(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
