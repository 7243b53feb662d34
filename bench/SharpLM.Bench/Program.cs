using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Training;

// Pre-training speed benchmark: trains the shakespeare-char preset (nanoGPT's baby config) and the larger
// 6-layer/384-dim config for a fixed number of iterations on tinyshakespeare and reports median ms/iter,
// tokens/s and MFU. With --reference it also runs the PyTorch eager reference (../shared/bench, or --reference
// PATH) on the baby config, alternating with SharpLM, and reports the ratio. Not a test: nothing is asserted.
//
//   dotnet run -c Release --project bench/SharpLM.Bench -- [--iters 200] [--large-iters 40] [--rounds 2]
//       [--threads N] [--reference [PATH]] [--out DIR]
//   dotnet run -c Release --project bench/SharpLM.Bench -- dedup      (near-duplicate quality and speed)
//   dotnet run -c Release --project bench/SharpLM.Bench -- corpus --mb 200 --out FILE   (a corpus to time data clean)
//   dotnet run -c Release --project bench/SharpLM.Bench -- tokenizers [--mb 10]   (tokenizer.json layouts vs HF tokenizers)
//   dotnet run -c Release --project bench/SharpLM.Bench -- checkpoints load   (a GPT-2-124M safetensors folder: load time, peak memory)
//   dotnet run -c Release --project bench/SharpLM.Bench -- checkpoints gguf   (SharpLM vs llama.cpp on exported GGUF: greedy tokens, decode speed)
//   dotnet run -c Release --project bench/SharpLM.Bench -- decoding   (speculative decoding: acceptance rate and tokens/s vs plain decoding)
//   dotnet run -c Release --project bench/SharpLM.Bench -- decoding quantized --checkpoint RUN   (float32 vs int8 vs int4: perplexity, weight memory, decode tokens/s)
//   dotnet run -c Release --project bench/SharpLM.Bench -- checkpointing [--preset gpt-6l-384d] [--batch 8]   (activation checkpointing: ms per step and peak memory)
//   dotnet run -c Release --project bench/SharpLM.Bench -- serve [--checkpoint RUN] [--clients 16] [--seconds 60]   (the server under concurrent load)
//   dotnet run -c Release --project bench/SharpLM.Bench -- data-parallel [--preset gpt-6l-384d] [--iters 30] [--ranks 2] [--zero 0]   (mpirun ranks × 1 thread vs one process)
//   dotnet run -c Release --project bench/SharpLM.Bench -- soak [--runs 20] [--iters 400]   (many checkpointed, resumed runs in one process: any crash)
if (args.Length > 0 && args[0] == "dedup") return DedupBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "tokenizers") return TokenizerBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "corpus") return CleaningCorpus.Run(args[1..]);
if (args.Length > 0 && args[0] == "checkpoints") return CheckpointBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "decoding") return DecodingBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "serve") return ServeBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "checkpointing") return CheckpointingBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "data-parallel") return DataParallelBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "soak") return SoakBenchmark.Run(args[1..]);
var opts = Args.Parse(args);
string outDir = opts.Get("out", "out/bench");
int iters = int.Parse(opts.Get("iters", "200"), CultureInfo.InvariantCulture);
int largeIters = int.Parse(opts.Get("large-iters", "40"), CultureInfo.InvariantCulture);
int rounds = int.Parse(opts.Get("rounds", "2"), CultureInfo.InvariantCulture);
int threads = int.Parse(opts.Get("threads", "0"), CultureInfo.InvariantCulture);
string corpus = Corpora.TinyShakespeare(Console.Error.WriteLine);
string? reference = opts.Has("reference") ? opts.Get("reference", "") : null;
if (reference == "") reference = FindReference();
// Without OpenBLAS, Debian's python3-torch falls back to the reference BLAS, about 10× slower (measured 700–1100
// ms/iter against 64–72): a ratio against that would flatter SharpLM, so the comparison is not made at all.
if (reference is not null && !Directory.Exists(OpenBlasDirectory))
{
    Console.Error.WriteLine($"{OpenBlasDirectory} not found: install libopenblas0-pthread for the PyTorch reference (Debian's default BLAS is ~10× slower); running without it");
    reference = null;
}

Directory.CreateDirectory(outDir);
string data = Path.Combine(outDir, "data");
if (!DataPreparer.IsPrepared(data)) DataPreparer.Prepare(corpus, "char", data);

var rows = new List<Dictionary<string, object>>();
var tokenizerRow = BenchTokenizer(corpus);
var ratios = new List<double>();
for (int round = 1; round <= rounds; round++)
{
    var baby = Train("shakespeare-char", iters);
    rows.Add(Row("baby 4L/4H/128d ctx64 b12", round, baby));
    if (reference is not null)
    {
        double refMs = RunReference(reference, corpus, iters);
        rows.Add(new() { ["config"] = "PyTorch eager reference (same model)", ["round"] = round, ["median_ms_per_iter"] = refMs });
        ratios.Add(baby.MedianMsPerIter / refMs);
    }
    rows.Add(Row("large 6L/6H/384d ctx256 b8", round, Train("gpt-6l-384d", largeIters)));
}

Console.WriteLine();
Console.WriteLine("| config | round | median ms/iter | tokens/s | MFU | matmul peak GFLOP/s |");
Console.WriteLine("|---|---|---|---|---|---|");
foreach (var r in rows)
    Console.WriteLine($"| {r["config"]} | {r["round"]} | {F(r, "median_ms_per_iter", "F2")} | {F(r, "tokens_per_second", "N0")} | {F(r, "mfu", "P1")} | {F(r, "matmul_peak_gflops", "F0")} |");
Console.WriteLine($"\nbyte-level BPE, vocab 4096, on tinyshakespeare ({tokenizerRow["megabytes"]:F2} MB): trained in {tokenizerRow["train_seconds"]:F2} s, " +
    $"encodes {tokenizerRow["encode_mb_per_s"]:F1} MB/s (cold cache), decodes {tokenizerRow["decode_mb_per_s"]:F1} MB/s");
var report = new Dictionary<string, object> { ["runs"] = rows, ["tokenizer"] = tokenizerRow, ["threads"] = threads, ["iters"] = iters, ["large_iters"] = largeIters };
if (ratios.Count > 0)
{
    ratios.Sort();
    int mid = ratios.Count / 2;
    double median = ratios.Count % 2 == 1 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
    report["sharplm_over_reference_ms_ratios"] = ratios;
    report["median_ratio"] = median;
    Console.WriteLine($"\nSharpLM / PyTorch reference ms/iter: {string.Join(", ", ratios.Select(x => x.ToString("F3", CultureInfo.InvariantCulture)))} (median {median:F3})");
}
AtomicFile.WriteAllText(Path.Combine(outDir, "bench.json"), JsonSerializer.Serialize(report, Json.Options));
Console.WriteLine($"wrote {Path.Combine(outDir, "bench.json")}");
return 0;

TrainingSummary Train(string preset, int n)
{
    var cfg = PretrainConfig.Preset(preset).WithOverrides(new Dictionary<string, string>
    {
        ["max_iters"] = n.ToString(CultureInfo.InvariantCulture), ["lr_decay_iters"] = Math.Max(n, 100).ToString(CultureInfo.InvariantCulture),
        ["eval_interval"] = (n * 10).ToString(CultureInfo.InvariantCulture), ["eval_iters"] = "1", ["threads"] = threads.ToString(CultureInfo.InvariantCulture),
    });
    string run = Path.Combine(outDir, $"run-{preset}");
    if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
    Console.Error.WriteLine($"training {preset} for {n} iterations…");
    return new Trainer(cfg, data, run).Run(resume: false);
}

// Tokenizer speed: BPE training and encoding of the whole corpus (one thread; a fresh tokenizer so its cache is cold).
static Dictionary<string, double> BenchTokenizer(string corpus)
{
    string text = File.ReadAllText(corpus);
    double mb = System.Text.Encoding.UTF8.GetByteCount(text) / 1e6;
    var sw = Stopwatch.StartNew();
    var trainer = new SharpLM.Tokenization.BpeTrainer(new SharpLM.Tokenization.BpeTrainerOptions { VocabSize = 4096 });
    trainer.AddDocument(text);
    var trained = trainer.Train();
    double trainSeconds = sw.Elapsed.TotalSeconds;
    string dir = Path.Combine(Path.GetTempPath(), $"sharplm-bench-tok-{Environment.ProcessId}");
    trained.Save(dir);
    var fresh = SharpLM.Tokenization.TokenizerFactory.Load(dir);
    sw.Restart();
    int[] ids = fresh.Encode(text);
    double encodeSeconds = sw.Elapsed.TotalSeconds;
    sw.Restart();
    string back = fresh.Decode(ids);
    double decodeSeconds = sw.Elapsed.TotalSeconds;
    Directory.Delete(dir, recursive: true);
    if (back != text) throw new InvalidOperationException("BPE round trip failed");
    return new() { ["megabytes"] = mb, ["train_seconds"] = trainSeconds, ["encode_mb_per_s"] = mb / encodeSeconds, ["decode_mb_per_s"] = mb / decodeSeconds, ["tokens"] = ids.Length };
}

static Dictionary<string, object> Row(string name, int round, TrainingSummary s) => new()
{
    ["config"] = name, ["round"] = round, ["median_ms_per_iter"] = s.MedianMsPerIter, ["tokens_per_second"] = s.TokensPerSecond,
    ["mfu"] = s.Mfu, ["matmul_peak_gflops"] = s.MatmulPeakGflops, ["params"] = s.Params, ["threads"] = s.Threads,
};

static string F(Dictionary<string, object> r, string key, string format) =>
    r.TryGetValue(key, out var v) ? Convert.ToDouble(v, CultureInfo.InvariantCulture).ToString(format, CultureInfo.InvariantCulture) : "";

static string? FindReference()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        string candidate = Path.Combine(dir.FullName, "shared/bench/torch_gpt_reference.py");
        if (File.Exists(candidate)) return candidate;
    }
    Console.Error.WriteLine("PyTorch reference script not found; pass --reference PATH");
    return null;
}

// As the reference's header prescribes: Debian's python3-torch with OpenBLAS, one thread (its fastest on 2 cores).
static double RunReference(string script, string corpus, int iters)
{
    var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (string a in new[] { script, "--data", corpus, "--iters", iters.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
    psi.Environment["LD_LIBRARY_PATH"] = OpenBlasDirectory;
    psi.Environment["OMP_NUM_THREADS"] = "1";
    psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
    Console.Error.WriteLine("running the PyTorch reference…");
    using var p = Process.Start(psi)!;
    var stderrTask = p.StandardError.ReadToEndAsync(); // both pipes drained at once: no deadlock on a full buffer
    string stdout = p.StandardOutput.ReadToEnd();
    string stderr = stderrTask.Result;
    p.WaitForExit();
    var m = Regex.Match(stdout, @"ms_per_iter=([0-9.]+)");
    if (p.ExitCode != 0 || !m.Success) throw new InvalidOperationException($"reference failed (exit {p.ExitCode}): {stderr.Trim().Split('\n')[^1]}");
    return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
}

sealed class Args
{
    readonly Dictionary<string, string> values = new();

    public static Args Parse(string[] args)
    {
        var a = new Args();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument {args[i]}");
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            a.values[args[i][2..]] = hasValue ? args[++i] : "";
        }
        return a;
    }

    public bool Has(string key) => values.ContainsKey(key);
    public string Get(string key, string fallback) => values.TryGetValue(key, out var v) ? v : fallback;
}

static partial class Program
{
    /// <summary>Where Debian's libopenblas0-pthread puts the OpenBLAS build the reference must run with.</summary>
    const string OpenBlasDirectory = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
}
