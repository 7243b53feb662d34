using System.CommandLine;
using System.Globalization;
using SharpLM.Distributed;
using SharpLM.Modeling.Parallel;
using SharpLM.Training;
using TorchSharp;

namespace SharpLM.Cli.Commands;

/// <summary>
/// `sharplm mpi parallel`: does a tensor- or pipeline-parallel GPT compute what the single-process model computes,
/// and how fast? Run under mpirun; every rank builds the model from one seed.
/// </summary>
public static class MpiParallelCommand
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { Description = "tensor (Megatron-LM: heads and feed-forward units split across ranks) or pipeline (GPipe: layers split into one stage per rank).", Required = true };
        var preset = new Option<string>("--preset") { Description = "The bundled config whose model is built (see sharplm pretrain --help for the list).", DefaultValueFactory = _ => "shakespeare-char" };
        var layers = new Option<int>("--n-layer") { Description = "Override the preset's n_layer (0 = keep)." };
        var heads = new Option<int>("--n-head") { Description = "Override the preset's n_head (0 = keep)." };
        var width = new Option<int>("--n-embd") { Description = "Override the preset's n_embd (0 = keep)." };
        var batch = new Option<int>("--batch-size") { Description = "Rows per step (cut into micro-batches for pipeline).", DefaultValueFactory = _ => 8 };
        var length = new Option<int>("--sequence-length") { Description = "Tokens per row (0 = the preset's block_size)." };
        var micro = new Option<int>("--micro-batches") { Description = "Pipeline micro-batches per step (m).", DefaultValueFactory = _ => 4 };
        var schedule = new Option<string>("--schedule") { Description = "Pipeline schedule: 1f1b (one forward, one backward in turn) or gpipe (all forwards, then all backwards).", DefaultValueFactory = _ => "1f1b" };
        var steps = new Option<int>("--steps") { Description = "Timed steps, after one untimed warm-up step.", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Seed of the weights and of the random batch.", DefaultValueFactory = _ => 1337 };
        var threads = new Option<int>("--threads") { Description = "libtorch threads per rank.", DefaultValueFactory = _ => 1 };
        var command = new Command("parallel", "Check a tensor- or pipeline-parallel GPT against the single-process model computed on rank 0 (logits, loss, every gradient within 1e-5) and time both; pipeline also measures its bubble. Exit code 1 on a mismatch. Example: mpirun -np 2 sharplm mpi parallel --mode pipeline --micro-batches 8")
        {
            mode, preset, layers, heads, width, batch, length, micro, schedule, steps, seed, threads,
        };
        command.SetAction(parse =>
        {
            var model = PretrainConfig.Preset(parse.GetValue(preset)!).Model;
            int n;
            if ((n = parse.GetValue(layers)) > 0) model = model with { NLayer = n };
            if ((n = parse.GetValue(heads)) > 0) model = model with { NHead = n };
            if ((n = parse.GetValue(width)) > 0) model = model with { NEmbd = n };
            model.Validate("--preset with overrides");
            int t = parse.GetValue(length) is > 0 and var l ? l : model.BlockSize;
            torch.set_num_threads(Math.Max(1, parse.GetValue(threads)));
            var options = new ParallelCheckOptions(parse.GetValue(mode)!, model, parse.GetValue(batch), t, parse.GetValue(micro), parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(schedule)!);
            var mpi = Mpi.Start();
            var r = ParallelCheck.Run(mpi, options);
            if (mpi.Rank == 0) Console.Write(Report(r));
            return r.Matches ? 0 : 1;
        });
        return command;
    }

    /// <summary>The Markdown report rank 0 prints.</summary>
    static string Report(ParallelCheckResult r)
    {
        var o = r.Options;
        var m = o.Model;
        bool pipeline = o.Mode == "pipeline";
        string Ok(double diff) => diff <= ParallelCheckResult.Tolerance ? "yes" : "NO";
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(pipeline ? $"Pipeline ({(o.Schedule == "gpipe" ? "GPipe" : "1F1B")})" : "Tensor (Megatron-LM)")} parallel over {r.Ranks} ranks{(Mpi.Launched ? "" : " (not started by mpirun)")}: {m.NLayer}L/{m.NHead}H/{m.NEmbd}d GPT, {r.Parameters / 1e6:F2}M parameters, batch {o.BatchSize} × {o.SequenceLength} tokens{(pipeline ? $", {o.MicroBatches} micro-batches of {o.BatchSize / o.MicroBatches}" : "")}"));
        w.WriteLine();
        w.WriteLine("| compared with the single-process model | max abs diff | largest abs reference value | within 1e-5 |");
        w.WriteLine("|---|---|---|---|");
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| logits | {r.LogitsMaxAbsDiff:E2} | {r.LogitsMaxAbs:F3} | {Ok(r.LogitsMaxAbsDiff)} |"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| loss | {r.LossAbsDiff:E2} | {r.Loss:F4} | {Ok(r.LossAbsDiff)} |"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| gradients, every parameter (worst: {r.WorstGradient}) | {r.GradientMaxAbsDiff:E2} | {r.GradientMaxAbs:F4} | {Ok(r.GradientMaxAbsDiff)} |"));
        w.WriteLine();
        w.WriteLine("| step (forward + backward) | ms per step |");
        w.WriteLine("|---|---|");
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| single process (rank 0) | {r.SingleMsPerStep:F1} |"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {o.Mode} parallel, {r.Ranks} ranks | {r.ParallelMsPerStep:F1} |"));
        if (pipeline)
        {
            w.WriteLine();
            w.WriteLine("| stage | layers | idle ms per step (in send/receive) | busy ms per step | idle / busy | most micro-batches held |");
            w.WriteLine("|---|---|---|---|---|---|");
            int per = m.NLayer / r.Ranks;
            for (int s = 0; s < r.Ranks; s++)
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {s} | {s * per}–{(s + 1) * per - 1} | {r.StageIdleMs![s]:F1} | {r.StageBusyMs![s]:F1} | {r.StageIdleMs[s] / r.StageBusyMs[s]:F3} | {r.StageMostHeld![s]:F0} |"));
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| bubble, mean over stages | | | | {r.MeasuredBubble:F3} (theory (p−1)/m = {r.TheoreticalBubble:F3}) | |"));
        }
        w.WriteLine();
        w.WriteLine(r.Matches ? "match: logits, loss and every gradient within 1e-5 (max abs)" : "MISMATCH: see the rows marked NO");
        return w.ToString();
    }
}
