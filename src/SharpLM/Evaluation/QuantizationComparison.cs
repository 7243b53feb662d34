using System.Diagnostics;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Evaluation;

/// <summary>What quantisation costs and saves for one model: one row of <see cref="QuantizationComparison"/>.</summary>
public sealed record QuantizationFigures
{
    /// <summary>"float32", "int8", "int4 (group 64)".</summary>
    public required string Weights { get; init; }
    /// <summary>Bytes of the Linear layers' weights (what quantisation shrinks; embeddings and norms stay float).</summary>
    public required long LinearWeightBytes { get; init; }
    /// <summary>Bytes of every parameter and buffer.</summary>
    public required long ModelBytes { get; init; }
    /// <summary>Perplexity of the evaluation text (non-overlapping block_size windows).</summary>
    public required double Perplexity { get; init; }
    /// <summary>Greedy KV-cache decoding speed: tokens generated over the wall time of repeated runs.</summary>
    public required double DecodeTokensPerSecond { get; init; }
}

/// <summary>
/// The figures the quantisation issue asks for, measured the same way wherever they are shown (`sharplm quantize`,
/// the decoding benchmark): perplexity of a held-out text, weight memory, and decode speed.
/// </summary>
public static class QuantizationComparison
{
    /// <summary>
    /// Measures <paramref name="model"/> as it is (float or quantised): perplexity of <paramref name="text"/>, its
    /// weight bytes, and greedy decoding of up to <paramref name="decodeTokens"/> tokens (capped so prompt and output
    /// fit the context) after the text's first 8 tokens, run once to warm up and then repeated for at least
    /// <paramref name="seconds"/>: a rate over a second or more, since one sub-second run on a shared machine varies
    /// by tens of percent.
    /// </summary>
    public static QuantizationFigures Measure(LanguageModel model, ITokenizer tokenizer, string text, Device device, int decodeTokens = 200, double seconds = 2)
    {
        model.eval();
        double ppl = Perplexity.Evaluate(model, tokenizer, text, device, batchSize: 32).Perplexity;
        int[] prompt = tokenizer.Encode(text).Take(8).ToArray();
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = Math.Max(1, Math.Min(decodeTokens, model.Config.BlockSize - prompt.Length)) };
        var generator = new Generator(model, tokenizer, device);
        generator.GenerateTokens(prompt, options).Count();
        long made = 0;
        var watch = Stopwatch.StartNew();
        do made += generator.GenerateTokens(prompt, options).Count();
        while (watch.Elapsed.TotalSeconds < seconds);
        return new QuantizationFigures
        {
            Weights = Quantization.Of(model)?.ToString() ?? "float32", LinearWeightBytes = Quantization.LinearWeightBytes(model),
            ModelBytes = Quantization.ModelBytes(model), Perplexity = ppl, DecodeTokensPerSecond = made / watch.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The rows as a Markdown table, each compared with the first (the float model).</summary>
    public static string MarkdownTable(IReadOnlyList<QuantizationFigures> rows)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var text = new System.Text.StringBuilder("| weights | Linear weight MB | all weights MB | val perplexity | decode tokens/s |\n|---|---|---|---|---|\n");
        foreach (var r in rows)
            text.Append(c, $"| {r.Weights} | {r.LinearWeightBytes / 1e6:F3} ({(double)r.LinearWeightBytes / rows[0].LinearWeightBytes:F3}×) | {r.ModelBytes / 1e6:F3} | {r.Perplexity:F4} ({(r.Perplexity / rows[0].Perplexity - 1) * 100:+0.00;-0.00} %) | {r.DecodeTokensPerSecond:F0} ({r.DecodeTokensPerSecond / rows[0].DecodeTokensPerSecond:F2}×) |\n");
        return text.ToString();
    }
}
