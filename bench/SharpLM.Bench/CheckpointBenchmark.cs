using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LLama;
using LLama.Common;
using SharpLM.Tests.Checkpoints;
using SharpLM.Checkpoints;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using static TorchSharp.torch;

/// <summary>
/// Checkpoint formats, timed. Not tests: the figures are reported, nothing is asserted.
/// <list type="bullet">
/// <item>`load [--dir DIR] [--runs 3]`: a GPT-2-124M-shaped Hugging Face folder (f32 safetensors, about 500 MB, random
/// weights; written once) loaded by <see cref="HfCheckpoint.Load"/> in a fresh process per run: seconds, the process's
/// resident memory before loading, its peak (VmHWM) after loading and one forward pass, and the growth over the weights.</item>
/// <item>`gguf [--iters 600] [--tokens 200] [--threads 1]`: for each llama.cpp architecture SharpLM exports (gpt2, llama),
/// trains a small model on tinyshakespeare (char tokenizer for gpt2, byte-level BPE for llama), writes it as GGUF, and
/// runs it in LLamaSharp 0.30 (llama.cpp): the 64-token greedy continuation is compared token for token, then decode
/// tokens/s of SharpLM (KV cache) and llama.cpp are timed side by side on the same prompt and thread count.</item>
/// <item>`compare --model FILE.gguf --prompt TEXT [--tokens 64]`: any GGUF file SharpLM reads, continued greedily by SharpLM
/// and by llama.cpp from the same prompt ids; prints both continuations and whether they are identical.</item>
/// </list>
/// </summary>
static class CheckpointBenchmark
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "load-child") return LoadChild(args[1]);
        var opts = Args.Parse(args[1..]);
        return args[0] switch
        {
            "load" => Load(opts),
            "gguf" => Gguf(opts),
            "compare" => Compare(opts),
            _ => throw new ArgumentException($"unknown checkpoint benchmark '{args[0]}' (load, gguf, compare)"),
        };
    }

    static readonly ModelConfig Gpt2Small = new()
    {
        VocabSize = 50257, BlockSize = 1024, NLayer = 12, NHead = 12, NEmbd = 768, Activation = "gelu_tanh",
    };

    static int Load(Args opts)
    {
        string dir = opts.Get("dir", "out/bench/gpt2-124m");
        int runs = int.Parse(opts.Get("runs", "3"), CultureInfo.InvariantCulture);
        if (!File.Exists(Path.Combine(dir, SafetensorsCheckpoint.SingleFile)))
        {
            Console.Error.WriteLine($"writing a random-weight GPT-2-124M folder to {dir}…");
            using var model = new Gpt(Gpt2Small);
            HfCheckpoint.Save(model, dir);
        }
        long weightBytes = new FileInfo(Path.Combine(dir, SafetensorsCheckpoint.SingleFile)).Length;
        Console.WriteLine($"GPT-2-124M f32 safetensors: {weightBytes / 1e6:F1} MB");
        Console.WriteLine("| run | load s | RSS before MB | peak RSS MB | peak − before MB | (peak − before) / weights | peak / weights |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var rows = new List<JsonElement>();
        for (int i = 1; i <= runs; i++)
        {
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
            foreach (string a in new[] { "checkpoints", "load-child", dir }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string line = p.StandardOutput.ReadToEnd().Trim().Split('\n')[^1];
            p.WaitForExit();
            var r = JsonDocument.Parse(line).RootElement;
            rows.Add(r.Clone());
            double before = r.GetProperty("rss_before_mb").GetDouble(), peak = r.GetProperty("peak_rss_mb").GetDouble();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {i} | {r.GetProperty("load_seconds").GetDouble():F2} | {before:F0} | {peak:F0} | {peak - before:F0} | {(peak - before) * 1e6 / weightBytes:F2} | {peak * 1e6 / weightBytes:F2} |"));
        }
        AtomicFile.WriteAllText(Path.Combine(dir, "..", "load.json"), JsonSerializer.Serialize(new { weights_mb = weightBytes / 1e6, runs = rows }, Json.Options));
        return 0;
    }

    /// <summary>One measured load in this (fresh) process; prints one JSON line.</summary>
    static int LoadChild(string dir)
    {
        using (var warm = ones(4)) { } // libtorch loaded and initialised before the baseline is read
        double before = Status("VmRSS");
        var watch = Stopwatch.StartNew();
        var model = HfCheckpoint.Load(dir);
        double seconds = watch.Elapsed.TotalSeconds;
        double loaded = Status("VmHWM");
        using (no_grad())
        using (var logits = model.forward(tensor(new long[] { 464, 2068, 7586, 21831 }).reshape(1, 4))) { }
        double peak = Status("VmHWM");
        Console.WriteLine(JsonSerializer.Serialize(new { load_seconds = seconds, rss_before_mb = before, peak_after_load_mb = loaded, peak_rss_mb = peak }));
        return 0;
    }

    /// <summary>A memory figure of /proc/self/status (given there in KiB), in MB of 10⁶ bytes like the weights' size.</summary>
    static double Status(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024 / 1e6;
    }

    static int Gguf(Args opts)
    {
        int iters = int.Parse(opts.Get("iters", "600"), CultureInfo.InvariantCulture);
        int tokens = int.Parse(opts.Get("tokens", "200"), CultureInfo.InvariantCulture);
        int threads = int.Parse(opts.Get("threads", "1"), CultureInfo.InvariantCulture);
        string outDir = opts.Get("out", "out/bench/gguf");
        string corpus = Corpora.TinyShakespeare(Console.Error.WriteLine);
        Directory.CreateDirectory(outDir);
        var results = new List<object>();
        Console.WriteLine($"| architecture | tokenizer | params | greedy 64 tokens equal | SharpLM tok/s | llama.cpp tok/s | llama.cpp / SharpLM |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (string arch in new[] { "gpt2", "llama" })
        {
            var (model, tokenizer) = Train(arch, corpus, Path.Combine(outDir, arch), iters, threads);
            string gguf = Path.Combine(outDir, $"{arch}.gguf");
            GgufCheckpoint.Save(model, tokenizer, gguf);
            TorchRuntime.SetThreads(threads);
            int[] prompt = tokenizer.Encode("ROMEO:\nI will");
            var sampling = new SharpLM.Inference.SamplingOptions { Temperature = 0, MaxNewTokens = 64 };
            int[] ours = new SharpLM.Inference.Generator(model, tokenizer, CPU).GenerateTokens(prompt, sampling).ToArray();

            var parameters = new ModelParams(gguf) { ContextSize = (uint)model.Config.BlockSize, BatchSize = (uint)model.Config.BlockSize, Threads = threads, GpuLayerCount = 0 };
            using var weights = LLamaWeights.LoadFromFile(parameters);
            using var context = weights.CreateContext(parameters);
            int[] theirs = LlamaCpp.Greedy(context, prompt, 64);
            bool equal = ours.SequenceEqual(theirs);

            // Decode speed: the same prompt, `tokens` new tokens (the context allows), best of three runs each.
            int n = Math.Min(tokens, model.Config.BlockSize - prompt.Length);
            double oursRate = 0, theirsRate = 0;
            for (int round = 0; round < 3; round++)
            {
                var watch = Stopwatch.StartNew();
                int made = new SharpLM.Inference.Generator(model, tokenizer, CPU).GenerateTokens(prompt, sampling with { MaxNewTokens = n }).Count();
                oursRate = Math.Max(oursRate, made / watch.Elapsed.TotalSeconds);
                context.NativeHandle.MemoryClear();
                watch.Restart();
                made = LlamaCpp.Greedy(context, prompt, n).Length;
                theirsRate = Math.Max(theirsRate, made / watch.Elapsed.TotalSeconds);
                context.NativeHandle.MemoryClear();
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {arch} | {tokenizer.Kind} ({tokenizer.VocabSize}) | {model.ParameterCount:N0} | {(equal ? "yes" : $"no: first difference at {ours.Zip(theirs).TakeWhile(p => p.First == p.Second).Count()}")} | {oursRate:F0} | {theirsRate:F0} | {theirsRate / oursRate:F2} |"));
            results.Add(new { architecture = arch, tokenizer = tokenizer.Kind, parameters = model.ParameterCount, greedy_equal = equal, sharplm_tokens_per_s = oursRate, llama_cpp_tokens_per_s = theirsRate, new_tokens = n, threads });
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "gguf.json"), JsonSerializer.Serialize(results, Json.Options));
        return 0;
    }

    static int Compare(Args opts)
    {
        string path = opts.Get("model", "");
        int n = int.Parse(opts.Get("tokens", "64"), CultureInfo.InvariantCulture);
        var (model, tokenizer, _) = GgufCheckpoint.Load(path);
        int[] prompt = tokenizer.Encode(opts.Get("prompt", "\n").Replace("\\n", "\n"));
        n = Math.Min(n, model.Config.BlockSize - prompt.Length);
        int[] ours = new SharpLM.Inference.Generator(model, tokenizer, CPU).GenerateTokens(prompt, new SharpLM.Inference.SamplingOptions { Temperature = 0, MaxNewTokens = n }).ToArray();
        var parameters = new ModelParams(path) { ContextSize = (uint)model.Config.BlockSize, BatchSize = (uint)model.Config.BlockSize, Threads = 1, GpuLayerCount = 0 };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        int[] theirs = LlamaCpp.Greedy(context, prompt, ours.Length);
        var readable = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        Console.WriteLine($"SharpLM:   {JsonSerializer.Serialize(tokenizer.Decode(ours), readable)}");
        Console.WriteLine($"llama.cpp: {JsonSerializer.Serialize(tokenizer.Decode(theirs), readable)}");
        Console.WriteLine(ours.SequenceEqual(theirs) ? $"identical ({ours.Length} greedy tokens)" : $"differ at token {ours.Zip(theirs).TakeWhile(p => p.First == p.Second).Count()}");
        return ours.SequenceEqual(theirs) ? 0 : 1;
    }

    /// <summary>A model of <paramref name="arch"/>'s shape (the shakespeare-char preset's size, context 128) trained on the corpus.</summary>
    static (Gpt, ITokenizer) Train(string arch, string corpus, string dir, int iters, int threads)
    {
        string spec = "char";
        if (arch == "llama")
        {
            var trainer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 512 });
            trainer.AddDocument(File.ReadAllText(corpus));
            spec = Path.Combine(dir, "bpe");
            trainer.Train().Save(spec);
        }
        string data = Path.Combine(dir, "data");
        DataPreparer.Prepare(corpus, spec, data);
        var tokenizer = TokenizerFactory.Load(data);
        var config = PretrainConfig.Preset("shakespeare-char").WithOverrides(new Dictionary<string, string>
        {
            ["max_iters"] = iters.ToString(CultureInfo.InvariantCulture), ["lr_decay_iters"] = iters.ToString(CultureInfo.InvariantCulture),
            ["eval_interval"] = iters.ToString(CultureInfo.InvariantCulture), ["eval_iters"] = "2", ["threads"] = "0", ["block_size"] = "128",
        });
        var model = config.Model with { VocabSize = tokenizer.VocabSize };
        model = arch == "gpt2"
            ? model with { Activation = "gelu_tanh" }
            : model with { NKvHead = 2, Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", Bias = false, TieEmbeddings = false };
        string run = Path.Combine(dir, "run");
        if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
        Console.Error.WriteLine($"training a {arch}-shaped model for {iters} iterations…");
        new Trainer(config with { Tokenizer = spec, Model = model }, data, run).Run(resume: false);
        var (loaded, _) = Checkpoint.LoadModel(run, CPU);
        loaded.eval();
        return ((Gpt)loaded, tokenizer);
    }
}
