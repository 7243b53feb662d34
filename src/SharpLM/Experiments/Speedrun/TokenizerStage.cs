using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Tokenization;

namespace SharpLM.Experiments.Speedrun;

/// <summary>The tokenizer stage's figures: stats.json.</summary>
public sealed record TokenizerStats
{
    /// <summary>Vocabulary size, special tokens included.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Merges learned.</summary>
    public required int Merges { get; init; }
    /// <summary>The special tokens (end of text and the ChatML turn markers the chat template needs).</summary>
    public required IReadOnlyList<string> SpecialTokens { get; init; }
    /// <summary>UTF-8 bytes per token over every tenth cleaned document.</summary>
    public required double BytesPerToken { get; init; }
    /// <summary>Documents the compression was measured on.</summary>
    public required int MeasuredDocuments { get; init; }
    /// <summary>The longest learned tokens, as text.</summary>
    public required IReadOnlyList<string> LongestTokens { get; init; }
    /// <summary>Seconds of training.</summary>
    public required double Seconds { get; init; }
}

/// <summary>
/// Stage 2: `sharplm tokenizer train` on the cleaned corpus — a byte-level BPE (GPT-2 pre-tokenisation) with the
/// end-of-text and ChatML special tokens, so the base can be instruction-tuned with the chat template without growing
/// its vocabulary. Writes tokenizer.json and stats.json (compression in bytes per token, the longest tokens).
/// </summary>
public sealed class TokenizerStage : SpeedrunStage
{
    /// <summary>The stage's folder.</summary>
    public const string Folder = "tokenizer";
    /// <summary>The figures' file.</summary>
    public const string StatsFile = "stats.json";

    /// <inheritdoc/>
    public override string Name => Folder;
    /// <inheritdoc/>
    public override string Description => "train a byte-level BPE tokenizer with the chat tokens on the cleaned corpus";
    /// <inheritdoc/>
    public override IReadOnlyList<string> DependsOn => [CleanStage.Folder];

    /// <inheritdoc/>
    public override object Settings(SpeedrunOptions options) => new { options.VocabSize };

    /// <inheritdoc/>
    public override Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation)
    {
        string dir = context.StageDir(Name);
        string corpus = Path.Combine(context.StageDir(CleanStage.Folder), CleanStage.OutputFile);
        string[] specials = [BpeTokenizer.EndOfText, SpecialTokens.ImStart, SpecialTokens.ImEnd];
        var clock = Stopwatch.StartNew();
        var trainer = new BpeTrainer(new BpeTrainerOptions { VocabSize = context.Options.VocabSize, SpecialTokens = specials });
        trainer.AddDocuments(DocumentReader.Read(corpus).Select(d => d.Text));
        var tokenizer = trainer.Train();
        double seconds = clock.Elapsed.TotalSeconds;
        long bytes = 0, tokens = 0;
        int measured = 0;
        foreach (var (doc, i) in DocumentReader.Read(corpus).Select((d, i) => (d, i)))
        {
            if (i % 10 != 0) continue;
            bytes += Encoding.UTF8.GetByteCount(doc.Text);
            tokens += tokenizer.Encode(doc.Text).Length;
            measured++;
        }
        var longest = Enumerable.Range(0, tokenizer.VocabSize).Where(id => !specials.Contains(tokenizer.Vocab[id]))
            .Select(id => tokenizer.Decode([id])).OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).Take(12).ToList();
        tokenizer.Save(dir);
        var stats = new TokenizerStats
        {
            VocabSize = tokenizer.VocabSize, Merges = tokenizer.Merges.Count, SpecialTokens = specials,
            BytesPerToken = Math.Round(bytes / (double)Math.Max(1, tokens), 3), MeasuredDocuments = measured, LongestTokens = longest, Seconds = Math.Round(seconds, 2),
        };
        AtomicFile.WriteAllText(Path.Combine(dir, StatsFile), JsonSerializer.Serialize(stats, Json.Options));
        context.Log(string.Create(CultureInfo.InvariantCulture,
            $"{stats.VocabSize} tokens ({stats.Merges} merges) in {seconds:F1} s; {stats.BytesPerToken:F2} bytes per token on {measured:N0} documents → {TokenizerFile.PathIn(dir)}"));
        return Task.CompletedTask;
    }
}
