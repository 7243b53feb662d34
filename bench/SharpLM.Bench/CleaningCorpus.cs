using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.Runtime;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- corpus --mb 200 --out corpus.jsonl [--seed 1]`: writes a
/// jsonl corpus of ~1 KB web-like documents for timing `sharplm data clean` at scale. Each document is a few
/// paragraphs of sentences drawn at random from tinyshakespeare (so unrelated documents share few 5-grams); then,
/// like a crawl, some documents are exact copies (8%) or lightly edited copies (8%) of earlier ones, some carry
/// e-mail addresses and phone numbers (3%), and some are junk the quality filters should drop (4%).
/// </summary>
static class CleaningCorpus
{
    public static int Run(string[] args)
    {
        var opts = Args.Parse(args);
        double megabytes = double.Parse(opts.Get("mb", "200"), CultureInfo.InvariantCulture);
        string output = opts.Get("out", "out/bench/cleaning-corpus.jsonl");
        var random = new SplitMix64(ulong.Parse(opts.Get("seed", "1"), CultureInfo.InvariantCulture));
        string[] sentences = Sentences(File.ReadAllText(Corpora.TinyShakespeare(Console.Error.WriteLine)));

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string temp = output + ".tmp";
        long bytes = 0, docs = 0, target = (long)(megabytes * 1e6);
        var recent = new string[4096]; // earlier documents that copies are made from
        var counts = new Dictionary<string, long>();
        using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false), 1 << 20))
        {
            while (bytes < target)
            {
                double u = random.NextLong(10_000) / 10_000.0;
                (string kind, string text) = u switch
                {
                    < 0.08 when docs > 100 => ("exact_copy", recent[random.NextLong(Math.Min(docs, recent.Length))]),
                    < 0.16 when docs > 100 => ("edited_copy", Edit(recent[random.NextLong(Math.Min(docs, recent.Length))], random)),
                    < 0.19 => ("pii", WithPii(Prose(sentences, random), random)),
                    < 0.23 => ("junk", Junk(sentences, random)),
                    _ => ("prose", Prose(sentences, random)),
                };
                recent[docs % recent.Length] = text;
                counts[kind] = counts.GetValueOrDefault(kind) + 1;
                string line = JsonSerializer.Serialize(new { id = $"doc-{docs}", text, kind });
                writer.WriteLine(line);
                bytes += Encoding.UTF8.GetByteCount(line) + 1;
                docs++;
            }
        }
        File.Move(temp, output, overwrite: true);
        Console.WriteLine($"{output}: {docs:N0} documents, {bytes / 1e6:F1} MB; " + string.Join(", ", counts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value:N0}")));
        return 0;
    }

    static string[] Sentences(string corpus) =>
        corpus.Replace('\n', ' ').Split(['.', '?', '!'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s.Count(c => c == ' ') >= 4 && !s.Contains(':')).Select(s => s + ".").ToArray();

    /// <summary>About 1 KB: two to four paragraphs of random sentences.</summary>
    static string Prose(string[] sentences, SplitMix64 random)
    {
        var sb = new StringBuilder(1200);
        int paragraphs = 2 + (int)random.NextLong(3);
        while (sb.Length < 1000)
        {
            for (int p = 0; p < paragraphs && sb.Length < 1000; p++)
            {
                if (sb.Length > 0) sb.Append("\n\n");
                for (int s = 0; s < 3; s++) sb.Append(sentences[random.NextLong(sentences.Length)]).Append(' ');
                sb.Length--;
            }
        }
        return sb.ToString();
    }

    /// <summary>A copy with about one word in twenty replaced, dropped or duplicated.</summary>
    static string Edit(string text, SplitMix64 random)
    {
        var words = text.Split(' ').ToList();
        for (int i = 0; i < words.Count; i++)
        {
            if (random.NextLong(20) != 0) continue;
            switch (random.NextLong(3))
            {
                case 0: words[i] = words[(int)random.NextLong(words.Count)]; break;
                case 1: words.RemoveAt(i); break;
                default: words.Insert(i, words[i]); i++; break;
            }
        }
        return string.Join(' ', words);
    }

    static string WithPii(string text, SplitMix64 random) =>
        text + $"\n\nContact us at user{random.NextLong(100_000)}@example.org or call +44 20 7946 {random.NextLong(10_000):D4} for tickets.";

    static string Junk(string[] sentences, SplitMix64 random) => random.NextLong(3) switch
    {
        0 => "Buy now! Click here!",
        1 => string.Concat(Enumerable.Repeat(sentences[random.NextLong(sentences.Length)] + "\n", 12)),
        _ => string.Concat(Enumerable.Range(0, 40).Select(_ => "#{} $$ ... ")),
    };
}
