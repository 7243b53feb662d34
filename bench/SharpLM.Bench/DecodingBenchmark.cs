using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpLM.Checkpoints;
using SharpLM.Data;
using SharpLM.Evaluation;
using SharpLM.Inference;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- decoding [--target-iters 1500] [--draft-iters 1500] [--tokens 200]
/// [--threads 1]`: speculative decoding measured. A target (the shakespeare-char preset with context 256, 4 layers ×
/// 128) and a draft (1 layer × 64) are trained on tinyshakespeare with the same character tokenizer; then, for
/// lookahead 1–6, the same prompts are continued greedily by plain KV-cache decoding of the target and by speculative
/// decoding: tokens/s of both, the draft's acceptance rate, target passes per token, and whether the tokens are
/// identical (they must be). Not a test: nothing is asserted.
/// </summary>
static class DecodingBenchmark
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "quantized") return Quantized(Args.Parse(args[1..]));
        var opts = Args.Parse(args);
        int targetIters = int.Parse(opts.Get("target-iters", "1500"), CultureInfo.InvariantCulture);
        int draftIters = int.Parse(opts.Get("draft-iters", "1500"), CultureInfo.InvariantCulture);
        int tokens = int.Parse(opts.Get("tokens", "200"), CultureInfo.InvariantCulture);
        int threads = int.Parse(opts.Get("threads", "1"), CultureInfo.InvariantCulture);
        string outDir = opts.Get("out", "out/bench/decoding");
        string corpus = Corpora.TinyShakespeare(Console.Error.WriteLine);
        string data = Path.Combine(outDir, "data");
        if (!DataPreparer.IsPrepared(data)) DataPreparer.Prepare(corpus, "char", data);
        var target = Train("target", outDir, data, targetIters, m => m);
        var draft = Train("draft", outDir, data, draftIters, m => m with { NLayer = 1, NHead = 2, NEmbd = 64 });
        var tokenizer = TokenizerFactory.Load(data);
        TorchRuntime.SetThreads(threads);
        string[] prompts = ["ROMEO:\nI will", "KING HENRY:\nNow", "First Citizen:\nWe are", "JULIET:\nO Romeo"];
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = tokens };
        // Both paths run once untimed first (JIT, allocator warm-up); every figure is the best of three rounds.
        new Generator(target, tokenizer, CPU).GenerateTokens(tokenizer.Encode(prompts[0]), options).Count();
        new SpeculativeDecoder(target, draft, CPU, 3).GenerateTokens(tokenizer.Encode(prompts[0]), options).Count();
        var plain = new List<int[]>();
        double plainRate = 0;
        var watch = Stopwatch.StartNew();
        for (int round = 0; round < 3; round++)
        {
            plain.Clear();
            watch.Restart();
            foreach (string p in prompts) plain.Add(new Generator(target, tokenizer, CPU).GenerateTokens(tokenizer.Encode(p), options).ToArray());
            plainRate = Math.Max(plainRate, plain.Sum(t => t.Length) / watch.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"target {target.ParameterCount:N0} parameters, draft {draft.ParameterCount:N0}; {prompts.Length} prompts × {tokens} greedy tokens, {threads} thread(s)");
        Console.WriteLine($"plain KV-cache decoding of the target: {plainRate:F0} tokens/s");
        Console.WriteLine("| lookahead | acceptance rate | target passes per token | tokens/s | speed-up | identical |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var rows = new List<object>();
        for (int k = 1; k <= 6; k++)
        {
            var decoder = new SpeculativeDecoder(target, draft, CPU, k);
            long drafted = 0, accepted = 0, passes = 0, produced = 0;
            bool identical = true;
            double rate = 0;
            for (int round = 0; round < 3; round++)
            {
                (drafted, accepted, passes, produced) = (0, 0, 0, 0);
                watch.Restart();
                for (int i = 0; i < prompts.Length; i++)
                {
                    int[] got = decoder.GenerateTokens(tokenizer.Encode(prompts[i]), options).ToArray();
                    identical &= got.SequenceEqual(plain[i]);
                    (drafted, accepted, passes, produced) = (drafted + decoder.Stats.Drafted, accepted + decoder.Stats.Accepted, passes + decoder.Stats.TargetPasses, produced + got.Length);
                }
                rate = Math.Max(rate, produced / watch.Elapsed.TotalSeconds);
            }
            double acceptance = (double)accepted / Math.Max(1, drafted);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {k} | {acceptance:P1} | {(double)passes / produced:F2} | {rate:F0} | {rate / plainRate:F2}× | {(identical ? "yes" : "NO")} |"));
            rows.Add(new { lookahead = k, acceptance_rate = acceptance, target_passes_per_token = (double)passes / produced, tokens_per_s = rate, speedup = rate / plainRate, identical });
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "speculative.json"), JsonSerializer.Serialize(new { plain_tokens_per_s = plainRate, threads, rows }, Json.Options));
        return 0;
    }

    /// <summary>
    /// `decoding quantized --checkpoint RUN [--schemes int8,int4] [--tokens 200] [--seconds 2] [--threads 1] [--out DIR]`:
    /// a trained run (the baby shakespeare-char model) in float32 and quantised with each scheme (int8 per channel, int4
    /// group-wise; "int4:32" picks the group size): perplexity on its data's validation split (non-overlapping windows),
    /// Linear-weight and total memory, and greedy decode tokens/s, side by side (<see cref="QuantizationComparison"/>,
    /// the figures `sharplm quantize` shows). The model is loaded afresh for each row.
    /// </summary>
    static int Quantized(Args opts)
    {
        string run = opts.Get("checkpoint", "");
        int tokens = int.Parse(opts.Get("tokens", "200"), CultureInfo.InvariantCulture);
        double seconds = double.Parse(opts.Get("seconds", "2"), CultureInfo.InvariantCulture);
        string outDir = opts.Get("out", "out/bench/decoding");
        var schemes = opts.Get("schemes", "int8,int4").Split(',').Select(s => QuantizationSpec.Parse(s, "--schemes")).Prepend(null).ToList();
        TorchRuntime.SetThreads(int.Parse(opts.Get("threads", "1"), CultureInfo.InvariantCulture));
        var rows = new List<QuantizationFigures>();
        foreach (var spec in schemes)
        {
            var bundle = SharpLM.Adaptation.ModelBundle.Load(run);
            if (spec is not null) Quantization.Quantize(bundle.Decoder("quantisation"), spec);
            string val = NGramTrainer.DecodeShard(Path.Combine(run, "data"), PreparedData.ValShard, bundle.Tokenizer);
            rows.Add(QuantizationComparison.Measure(bundle.Model, bundle.Tokenizer, val, CPU, tokens, seconds));
            Console.Error.WriteLine($"{rows[^1].Weights}: perplexity {rows[^1].Perplexity:F4}, {rows[^1].DecodeTokensPerSecond:F0} tokens/s");
        }
        Console.Write(QuantizationComparison.MarkdownTable(rows));
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(Path.Combine(outDir, "quantized.json"), JsonSerializer.Serialize(new { checkpoint = run, rows }, Json.Options));
        return 0;
    }

    internal static Gpt Train(string name, string outDir, string data, int iters, Func<ModelConfig, ModelConfig> shape)
    {
        string run = Path.Combine(outDir, name);
        if (!Checkpoint.Exists(run))
        {
            var config = PretrainConfig.Preset("shakespeare-char").WithOverrides(new Dictionary<string, string>
            {
                ["max_iters"] = iters.ToString(CultureInfo.InvariantCulture), ["lr_decay_iters"] = iters.ToString(CultureInfo.InvariantCulture),
                ["eval_interval"] = iters.ToString(CultureInfo.InvariantCulture), ["eval_iters"] = "2", ["block_size"] = "256",
            });
            Console.Error.WriteLine($"training the {name} for {iters} iterations…");
            new Trainer(config with { Model = shape(config.Model) }, data, run).Run(resume: false);
        }
        var (model, _) = Checkpoint.LoadModel(run, CPU);
        model.eval();
        return (Gpt)model;
    }
}
