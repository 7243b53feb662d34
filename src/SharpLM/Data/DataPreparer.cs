using System.Text;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Tokenization;

namespace SharpLM.Data;

/// <summary>What <see cref="DataPreparer"/> wrote, saved as data.json beside the shards.</summary>
public sealed record PreparedData
{
    /// <summary>Full path of the input the documents were read from.</summary>
    public required string Source { get; init; }
    /// <summary>The tokenizer's <see cref="ITokenizer.Kind"/>: "char", "bpe" or "gpt2".</summary>
    public required string Tokenizer { get; init; }
    /// <summary>Number of token ids, special tokens included; the shards' ids are all below it.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Number of (non-empty) documents tokenized.</summary>
    public required long Documents { get; init; }
    /// <summary>Total UTF-8 size of the documents' text, in bytes.</summary>
    public required long Bytes { get; init; }
    /// <summary>Tokens in train.bin: the first <see cref="TrainFraction"/> of the token stream.</summary>
    public required long TrainTokens { get; init; }
    /// <summary>Tokens in val.bin: the rest of the token stream.</summary>
    public required long ValTokens { get; init; }
    /// <summary>Share of the token stream that went to training, in (0, 1); 0.9 by default.</summary>
    public required double TrainFraction { get; init; }

    /// <summary>This record's file name; written last, so its presence marks a completed preparation.</summary>
    public const string FileName = "data.json";
    /// <summary>File name of the training shard.</summary>
    public const string TrainShard = "train.bin";
    /// <summary>File name of the validation shard.</summary>
    public const string ValShard = "val.bin";
}

/// <summary>
/// Text → token shards: reads documents, tokenizes them (documents joined by the end-of-text token when the
/// tokenizer has one), and splits the token stream by the nanoGPT convention: the first 90% is train, the last
/// 10% validation. Writes train.bin, val.bin, tokenizer.json and data.json into the output directory.
/// </summary>
public static class DataPreparer
{
    /// <summary>Tokenizes <paramref name="input"/> and writes the shards, tokenizer and data.json into <paramref name="outDir"/>.</summary>
    /// <param name="input">A file, directory or glob in any format <see cref="DocumentReader"/> reads.</param>
    /// <param name="tokenizerSpec">
    /// "char" (alphabet of the input), "char-chat" (the input's alphabet, every printable ASCII character, and the
    /// ChatML and end-of-text special tokens: a base that instruction tuning can use without growing its
    /// vocabulary), "gpt2", or a tokenizer.json / directory.
    /// </param>
    /// <param name="outDir">Created if missing; an earlier preparation there is replaced.</param>
    /// <param name="jsonlField">The field of a JSON-lines record that holds the text.</param>
    /// <param name="trainFraction">Share of tokens for train.bin, strictly between 0 and 1.</param>
    /// <returns>What was written, as saved in data.json.</returns>
    /// <exception cref="InvalidInputException">The fraction is out of range, or the input or tokenizer is bad.</exception>
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

    /// <summary>
    /// <see cref="Prepare"/> unless <paramref name="outDir"/> already holds data prepared from the same input with the
    /// same kind of tokenizer (how a resumed run reuses its data). Data prepared from another source or with another
    /// tokenizer is never silently reused: that is an error naming its data.json.
    /// </summary>
    /// <returns>The preparation's data.json, and whether it was made now.</returns>
    /// <exception cref="InvalidInputException">The directory holds other data, or <see cref="Prepare"/> refused.</exception>
    public static (PreparedData Data, bool Made) PrepareOnce(string input, string tokenizerSpec, string outDir, string jsonlField = "text", double trainFraction = 0.9)
    {
        if (!IsPrepared(outDir)) return (Prepare(input, tokenizerSpec, outDir, jsonlField, trainFraction), true);
        string metaPath = Path.Combine(outDir, PreparedData.FileName);
        var meta = Json.ReadFile<PreparedData>(metaPath);
        string source = Path.GetFullPath(input);
        // The kind the spec's tokenizer records (a character alphabet depends on the input, so only its kind is compared).
        string kind = tokenizerSpec is "char" or "char-chat" ? "char" : TokenizerFactory.Load(tokenizerSpec).Kind;
        if (meta.Source != source || meta.Tokenizer != kind)
            throw InvalidInputException.ForFile(metaPath, $"was prepared from {meta.Source} with the {meta.Tokenizer} tokenizer, not {source} with {kind}; choose another output directory");
        return (meta, false);
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
