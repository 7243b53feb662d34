using System.Diagnostics;
using System.Text;
using SharpLM.Tests.Tokenization;
using SharpLM.Tokenization.HuggingFace;
using HfOracle = Tokenizers.DotNet.Tokenizer;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- tokenizers [--mb 10]`: for each tokenizer.json layout of
/// the test fixtures (GPT-2, GPT-2 with prefix space, Llama-3, Qwen2, Llama-2, Mistral), encodes its share of
/// <c>--mb</c> MB of mixed text (prose, code, CJK, emoji, combining marks, whitespace, digits, special-token strings)
/// with SharpLM's <see cref="HuggingFaceTokenizer"/> and with Hugging Face's Rust tokenizers (Tokenizers.DotNet),
/// checks every id and every decode equal, and reports both encode speeds in MB/s (UTF-8 bytes) on one thread, same
/// text, same process. Ours runs first with a cold word cache; HF's Rust library has its own cache, also cold.
/// </summary>
static class TokenizerBenchmark
{
    public static int Run(string[] args)
    {
        double totalMb = args.Length > 1 && args[0] == "--mb" ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10;
        int charsPerKind = (int)(totalMb * 1_000_000 / HfFixtures.Kinds.Length);
        string directory = Directory.CreateTempSubdirectory("sharplm-tok-bench").FullName;
        long totalBytes = 0, totalTokens = 0;
        int mismatches = 0;
        Console.WriteLine("| layout | MB (UTF-8) | documents | tokens | ids equal | decodes equal | SharpLM MB/s | HF tokenizers MB/s | ratio |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        try
        {
            for (int k = 0; k < HfFixtures.Kinds.Length; k++)
            {
                string kind = HfFixtures.Kinds[k];
                string path = HfFixtures.Write(kind, directory);
                var ours = HuggingFaceTokenizer.Load(path);
                using var oracle = new HfOracle(path);
                string[] documents = MixedText.Documents(seed: 100 + k, charsPerKind).ToArray();
                long bytes = documents.Sum(d => (long)Encoding.UTF8.GetByteCount(d));

                var ourIds = new int[documents.Length][];
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < documents.Length; i++) ourIds[i] = ours.Encode(documents[i], addSpecialTokens: true);
                double oursSeconds = watch.Elapsed.TotalSeconds;

                var theirIds = new uint[documents.Length][];
                watch.Restart();
                for (int i = 0; i < documents.Length; i++) theirIds[i] = oracle.Encode(documents[i]);
                double theirSeconds = watch.Elapsed.TotalSeconds;

                int idsEqual = 0, decodesEqual = 0;
                for (int i = 0; i < documents.Length; i++)
                {
                    if (ourIds[i].AsSpan().SequenceEqual(theirIds[i].Select(id => (int)id).ToArray())) idsEqual++;
                    else if (mismatches++ < 5) Console.Error.WriteLine($"{kind}: ids differ for document {i}");
                    if (ours.Decode(ourIds[i], skipSpecialTokens: true) == oracle.Decode(theirIds[i])) decodesEqual++;
                    else if (mismatches++ < 5) Console.Error.WriteLine($"{kind}: decode differs for document {i}");
                }
                long tokens = ourIds.Sum(ids => (long)ids.Length);
                totalBytes += bytes;
                totalTokens += tokens;
                double mb = bytes / 1e6;
                Console.WriteLine($"| {kind} | {mb:F2} | {documents.Length:N0} | {tokens:N0} | {idsEqual}/{documents.Length} | {decodesEqual}/{documents.Length} | {mb / oursSeconds:F1} | {mb / theirSeconds:F1} | {theirSeconds / oursSeconds:F2}× |");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
        Console.WriteLine($"\n{totalBytes / 1e6:F2} MB, {totalTokens:N0} tokens compared; {(mismatches == 0 ? "all ids and decodes equal" : $"{mismatches} MISMATCHES")}");
        return mismatches == 0 ? 0 : 1;
    }
}
