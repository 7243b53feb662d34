using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpLM.Checkpoints;
using SharpLM.Data;
using SharpLM.Evaluation;
using SharpLM.Runtime;
using SharpLM.Training;
using static TorchSharp.torch;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- soak [--runs 20] [--iters 400] [--out DIR]`: many training
/// runs in one process, the setting in which "ExternalException: Unknown scalar type" was once seen (after a
/// checkpoint, an evaluation and a forced GC). Each run checkpoints and evaluates often, forces a GC every few
/// steps, is stopped halfway and resumed from its checkpoint, then its checkpoint is loaded and scored; the runs
/// cycle through fp32, bf16-mixed and bf16-true, with activation checkpointing on every other run. Every exception is
/// recorded, not thrown; the exit code is 1 when any run failed. Results: soak.json and a table. Not a test.
/// </summary>
static class SoakBenchmark
{
    public static int Run(string[] args)
    {
        var opts = Args.Parse(args);
        int runs = int.Parse(opts.Get("runs", "20"), CultureInfo.InvariantCulture), iters = int.Parse(opts.Get("iters", "400"), CultureInfo.InvariantCulture);
        string outDir = Path.GetFullPath(opts.Get("out", "out/bench-soak"));
        Directory.CreateDirectory(outDir);
        string data = Path.Combine(outDir, "data");
        if (!DataPreparer.IsPrepared(data)) DataPreparer.Prepare(Corpora.TinyShakespeare(Console.Error.WriteLine), "char", data);
        string[] precisions = ["fp32", "bf16-mixed", "bf16-true"];
        var rows = new List<Dictionary<string, object?>>();
        Console.WriteLine("| run | precision | activation checkpointing | steps | seconds | val loss | scored val loss | RSS after (MB) | error |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var total = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++)
        {
            string precision = precisions[i % precisions.Length];
            bool recompute = i % 2 == 1;
            var preset = PretrainConfig.Preset("shakespeare-char");
            var config = preset with
            {
                Model = preset.Model with { Dropout = 0 },
                Training = preset.Training with
                {
                    MaxIters = iters, LrDecayIters = iters, EvalInterval = 25, EvalIters = 4, GcInterval = 5, Seed = 100 + i,
                    Precision = precision, ActivationCheckpointing = recompute, Threads = 0,
                },
            };
            string run = Path.Combine(outDir, $"run-{i:D2}");
            if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
            var clock = Stopwatch.StartNew();
            string? error = null;
            TrainingSummary? summary = null;
            double? scored = null;
            try
            {
                using var stop = new CancellationTokenSource();
                try
                {
                    new Trainer(config, data, run, new StopAfter(iters / 2, stop)).Run(resume: false, stop.Token);
                }
                catch (OperationCanceledException) { }
                GC.Collect();
                summary = new Trainer(config, data, run).Run(resume: true);
                GC.Collect();
                var (model, _) = Checkpoint.LoadModel(run, CPU);
                using (model)
                {
                    using var tokens = TokenShard.Open(Path.Combine(data, PreparedData.ValShard));
                    var sampler = new BatchSampler(tokens, 8, model.Config.BlockSize, 1);
                    model.eval();
                    using var scope = NewDisposeScope();
                    using var _ = no_grad();
                    var (x, y) = sampler.Next(CPU);
                    scored = model.Loss(x, y).item<float>();
                }
            }
            catch (Exception e)
            {
                error = $"{e.GetType().Name}: {SharpLM.InvalidInputException.FirstLine(e)}";
            }
            double rss = Environment.WorkingSet / 1048576.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {i} | {precision} | {(recompute ? "on" : "off")} | {summary?.Iters} | {clock.Elapsed.TotalSeconds:F1} | {summary?.FinalValLoss:F4} | {scored:F4} | {rss:F0} | {error ?? ""} |"));
            rows.Add(new() { ["run"] = i, ["precision"] = precision, ["activation_checkpointing"] = recompute, ["steps"] = summary?.Iters, ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
                ["final_val_loss"] = summary?.FinalValLoss, ["scored_val_loss"] = scored, ["rss_mb"] = Math.Round(rss), ["error"] = error });
            SharpLM.IO.AtomicFile.WriteAllText(Path.Combine(outDir, "soak.json"), JsonSerializer.Serialize(rows, Json.Options));
        }
        int failed = rows.Count(r => r["error"] is not null);
        Console.WriteLine($"\n{runs} runs, {failed} failed, {total.Elapsed.TotalMinutes:F1} min; results in {Path.Combine(outDir, "soak.json")}");
        return failed == 0 ? 0 : 1;
    }

    sealed class StopAfter(int step, CancellationTokenSource stop) : ITrainingObserver
    {
        public void OnCheckpoint(int at, string directory)
        {
            if (at >= step) stop.Cancel();
        }
    }
}
