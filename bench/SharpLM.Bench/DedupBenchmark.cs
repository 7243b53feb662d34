using System.Diagnostics;
using System.Globalization;
using SharpLM.Data;
using SharpLM.Data.Dedup;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- dedup [--clusters 400] [--docs 100000]`:
/// near-duplicate quality on the synthetic benchmark (precision, recall at threshold 0.8, with the exact-Jaccard
/// distribution of what was missed or wrongly flagged) and MinHash-LSH throughput on ~1 KB documents, signatures
/// computed on every core and the index filled in input order.
/// </summary>
static class DedupBenchmark
{
    public static int Run(string[] args)
    {
        int clusters = Arg(args, "--clusters", 400), docs = Arg(args, "--docs", 100_000);
        string corpus = File.ReadAllText(Corpora.TinyShakespeare(Console.Error.WriteLine));

        var synthetic = SyntheticNearDuplicates.Generate(corpus, clusters, copiesPerCluster: 6, unrelated: clusters / 2, threshold: 0.8);
        var dedup = new MinHashDeduplicator(new MinHashOptions { Threshold = 0.8 });
        int tp = 0, fp = 0, fn = 0, tn = 0;
        var errors = new List<double>();
        foreach (var d in synthetic)
        {
            bool flagged = dedup.Add(d.Id, dedup.Signature(d.Text)).IsDuplicate;
            if (flagged && d.IsDuplicate) tp++;
            else if (flagged) { fp++; errors.Add(d.BestEarlierJaccard); }
            else if (d.IsDuplicate) { fn++; errors.Add(d.BestEarlierJaccard); }
            else tn++;
        }
        var lsh = dedup.Lsh;
        Console.WriteLine($"LSH {lsh.Bands} bands × {lsh.Rows} rows: expected false-positive rate {lsh.FalsePositiveRate(0.8):P2}, false-negative rate {lsh.FalseNegativeRate(0.8):P2} (before verification)");
        Console.WriteLine($"synthetic benchmark: {synthetic.Count} documents, {synthetic.Count(d => d.IsDuplicate)} true near-duplicates (exact Jaccard ≥ 0.8)");
        Console.WriteLine($"  precision {(double)tp / (tp + fp):F4}, recall {(double)tp / (tp + fn):F4} (tp {tp}, fp {fp}, fn {fn}, tn {tn}); exact Jaccard of the errors: {string.Join(", ", errors.Select(e => e.ToString("F3", CultureInfo.InvariantCulture)))}");

        // Throughput: ~1 KB passages (with near-duplicates among them) through signature + index.
        string[] words = corpus.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var texts = new string[docs];
        var random = new SharpLM.Runtime.SplitMix64(11);
        for (int i = 0; i < docs; i++)
        {
            int start = (int)random.NextLong(words.Length - 200);
            texts[i] = string.Join(' ', words, start, 180);
        }
        double mb = texts.Sum(t => (long)t.Length) / 1e6;
        var timer = Stopwatch.StartNew();
        var fast = new MinHashDeduplicator(new MinHashOptions { Threshold = 0.8 });
        var signatures = new uint[docs][];
        Parallel.For(0, docs, i => signatures[i] = fast.Signature(texts[i]));
        double signSeconds = timer.Elapsed.TotalSeconds;
        for (int i = 0; i < docs; i++) fast.Add($"d{i}", signatures[i]);
        double total = timer.Elapsed.TotalSeconds;
        Console.WriteLine($"throughput: {docs:N0} documents ({mb:F1} MB, mean {mb * 1e6 / docs:F0} chars) in {total:F2} s = {docs / total:N0} docs/s " +
            $"({signSeconds:F2} s signatures on {Environment.ProcessorCount} cores, {total - signSeconds:F2} s index); kept {fast.Kept:N0}; " +
            $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");
        return 0;
    }

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
