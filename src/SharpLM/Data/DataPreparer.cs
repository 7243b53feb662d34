using System.Text;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Tokenization;

namespace SharpLM.Data;

/// <summary>What <see cref="DataPreparer"/> wrote, saved as data.json beside the shards.</summary>
public sealed record PreparedData
{
    public required string Source { get; init; }
    public required string Tokenizer { get; init; }
    public required int VocabSize { get; init; }
    public required long Documents { get; init; }
    public required long Bytes { get; init; }
    public required long TrainTokens { get; init; }
    public required long ValTokens { get; init; }
    public required double TrainFraction { get; init; }

    public const string FileName = "data.json";
    public const string TrainShard = "train.bin";
    public const string ValShard = "val.bin";
}

/// <summary>
/// Text → token shards: reads documents, tokenizes them (documents joined by the end-of-text token when the
/// tokenizer has one), and splits the token stream by the nanoGPT convention: the first 90% is train, the last
/// 10% validation. Writes train.bin, val.bin, tokenizer.json and data.json into the output directory.
/// </summary>
public static class DataPreparer
{
    /// <param name="tokenizerSpec">
    /// "char" (alphabet of the input), "char-chat" (the input's alphabet, every printable ASCII character, and the
    /// ChatML and end-of-text special tokens: a base that instruction tuning can use without growing its
    /// vocabulary), "gpt2", or a tokenizer.json / directory.
    /// </param>
    public static PreparedData Prepare(string input, string tokenizerSpec, string outDir, string jsonlField = "text", double trainFraction = 0.9)
    {
        if (trainFraction <= 0 || trainFraction >= 1) throw new InvalidInputException($"train fraction {trainFraction} must be in (0, 1)");
        ITokenizer tokenizer = tokenizerSpec switch
        {
            "char" => CharTokenizer.FromText(Alphabet(input, jsonlField)),
            "char-chat" => CharTokenizer.FromText(Alphabet(input, jsonlField) + PrintableAscii)
                .WithSpecialTokens(SpecialTokens.ChatMl),
            _ => TokenizerFactory.Load(tokenizerSpec),
        };
        Directory.CreateDirectory(outDir);
        AtomicFile.CleanStaleTemporaries(outDir);
        // data.json is the "complete" marker: it goes first and comes back last, so a killed run is never reused.
        File.Delete(Path.Combine(outDir, PreparedData.FileName));

        // Pass 1: every token into one temporary shard (streaming, so memory stays bounded).
        string all = Path.Combine(outDir, $"all.tokens.tmp-{Environment.ProcessId}");
        long documents = 0, bytes = 0;
        using (var writer = new TokenShardWriter(all, tokenizer.VocabSize))
        {
            foreach (var doc in DocumentReader.Read(input, jsonlField))
            {
                if (documents > 0 && tokenizer.EndOfTextId is int eot) writer.Append(eot);
                writer.Append(tokenizer.Encode(doc.Text));
                documents++;
                bytes += Encoding.UTF8.GetByteCount(doc.Text);
            }
            writer.Commit();
        }

        // Pass 2: split into train (first fraction) and validation (the rest).
        long trainCount, valCount;
        using (var shard = TokenShard.Open(all))
        {
            trainCount = (long)(shard.Count * trainFraction);
            valCount = shard.Count - trainCount;
            CopyRange(shard, 0, trainCount, Path.Combine(outDir, PreparedData.TrainShard), tokenizer.VocabSize);
            CopyRange(shard, trainCount, valCount, Path.Combine(outDir, PreparedData.ValShard), tokenizer.VocabSize);
        }
        File.Delete(all);

        tokenizer.Save(outDir);
        var meta = new PreparedData
        {
            Source = Path.GetFullPath(input), Tokenizer = tokenizer.Kind, VocabSize = tokenizer.VocabSize,
            Documents = documents, Bytes = bytes, TrainTokens = trainCount, ValTokens = valCount, TrainFraction = trainFraction,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, PreparedData.FileName), System.Text.Json.JsonSerializer.Serialize(meta, Json.Options));
        return meta;
    }

    /// <summary>Space to tilde, and the newline: every character of the synthetic instruction suite.</summary>
    static readonly string PrintableAscii = "\n" + new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray());

    /// <summary>True when <paramref name="dir"/> already holds prepared shards.</summary>
    public static bool IsPrepared(string dir) =>
        File.Exists(Path.Combine(dir, PreparedData.FileName)) && File.Exists(Path.Combine(dir, PreparedData.TrainShard))
        && File.Exists(Path.Combine(dir, PreparedData.ValShard));

    /// <summary>Distinct code points of all documents (streamed), for the character tokenizer.</summary>
    static string Alphabet(string input, string jsonlField)
    {
        var runes = new HashSet<Rune>();
        foreach (var doc in DocumentReader.Read(input, jsonlField))
            foreach (Rune r in doc.Text.EnumerateRunes()) runes.Add(r);
        if (runes.Count == 0) throw InvalidInputException.ForFile(input, "holds no text");
        var sb = new StringBuilder();
        foreach (Rune r in runes) sb.Append(r.ToString());
        return sb.ToString();
    }

    static void CopyRange(TokenShard source, long start, long count, string path, int vocabSize)
    {
        using var writer = new TokenShardWriter(path, vocabSize);
        var buffer = new long[1 << 16];
        for (long done = 0; done < count;)
        {
            int n = (int)Math.Min(buffer.Length, count - done);
            source.CopyTo(start + done, buffer.AsSpan(0, n));
            for (int i = 0; i < n; i++) writer.Append((int)buffer[i]);
            done += n;
        }
        writer.Commit();
    }
}
