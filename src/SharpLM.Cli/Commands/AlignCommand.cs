using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Runtime;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm align dpo|ppo|grpo|best-of-n|eval`: alignment tuning of an instruction-tuned checkpoint.</summary>
public static class AlignCommand
{
    public static Command Create()
    {
        var policy = new Option<string>("--policy") { Description = "Instruction-tuned checkpoint to align (also the frozen reference).", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory: the aligned policy as a checkpoint, metrics.jsonl, summary.json, PNGs.", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue a killed run from its last saved state (bit-identical on the same thread count)." };
        var method = new Option<string>("--method") { Description = "lora (reference = adapter off, one copy of the weights) or full.", DefaultValueFactory = _ => PolicyMethods.Lora };
        var maxIters = new Option<int>("--max-iters") { DefaultValueFactory = _ => 60 };
        var lr = new Option<double>("--learning-rate") { DefaultValueFactory = _ => 2e-3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1337 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 0 };
        var checkpointEvery = new Option<int>("--checkpoint-interval") { Description = "Steps between saved states (0 = none).", DefaultValueFactory = _ => 10 };
        var loraR = new Option<int>("--lora-r") { DefaultValueFactory = _ => 8 };
        var loraTargets = new Option<string>("--lora-targets") { DefaultValueFactory = _ => "attn.c_attn,attn.c_proj,mlp.c_proj" };
        Option[] common = [policy, output, resume, method, maxIters, lr, seed, threads, checkpointEvery, loraR, loraTargets];
        AlignmentOptions Common(ParseResult p) => new()
        {
            Policy = p.GetValue(policy)!, Method = p.GetValue(method)!, MaxIters = p.GetValue(maxIters), LearningRate = p.GetValue(lr), Seed = p.GetValue(seed),
            Threads = p.GetValue(threads), CheckpointInterval = p.GetValue(checkpointEvery),
            Lora = new LoraOptions { Rank = p.GetValue(loraR), Alpha = 2 * p.GetValue(loraR), TargetModules = p.GetValue(loraTargets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
        };

        var data = new Option<string>("--data") { Description = "Preference pairs: a JSONL file (TRL explicit or implicit prompt, or hh-rlhf transcripts), a data set name, or synthetic[:style|correctness].", DefaultValueFactory = _ => "synthetic" };
        var loss = new Option<string>("--loss") { Description = "sigmoid (DPO), ipo, hinge or simpo.", DefaultValueFactory = _ => DpoLossTypes.Sigmoid };
        var beta = new Option<double>("--beta") { DefaultValueFactory = _ => 0.1 };
        var batch = new Option<int>("--batch-size") { Description = "Pairs per step.", DefaultValueFactory = _ => 16 };
        var dpo = new Command("dpo", "Direct preference optimisation (and IPO, hinge, SimPO) on preference pairs; reference log-probs computed once.") { data, loss, beta, batch };
        foreach (var o in common) dpo.Options.Add(o);
        dpo.SetAction(p =>
        {
            var options = new DpoOptions { Policy = "", LossType = p.GetValue(loss)!, Beta = p.GetValue(beta), BatchSize = p.GetValue(batch) };
            options = Merge(options, Common(p));
            var (train, _, skipped) = PreferenceSource.Load(p.GetValue(data)!, null, 0.1, new SyntheticSuiteOptions());
            if (skipped > 0) Console.Error.WriteLine($"{skipped} pairs skipped (see PreferenceData.Read)");
            return Report(DpoTrainer.Run(options, train, p.GetValue(output)!, p.GetValue(resume), Progress()), p.GetValue(output)!);
        });

        var reward = new Option<string>("--reward") { Description = "rm:DIR (a reward model), exact-match or style.", Required = true };
        var prompts = new Option<int>("--prompts-per-step") { DefaultValueFactory = _ => 16 };
        var samples = new Option<int>("--samples-per-prompt") { DefaultValueFactory = _ => 2 };
        var targetKl = new Option<double>("--target-kl") { Description = "Target of the adaptive KL controller, nats per reply (0 = fixed coefficient).", DefaultValueFactory = _ => 1.0 };
        var initKl = new Option<double>("--init-kl-coef") { DefaultValueFactory = _ => 0.2 };
        var ppo = new Command("ppo", "RLHF with PPO: rollouts, reward model, per-token KL penalty, GAE, clipped policy and value losses, adaptive KL.") { reward, prompts, samples, targetKl, initKl };
        foreach (var o in common) ppo.Options.Add(o);
        ppo.SetAction(p =>
        {
            var options = Merge(new PpoOptions
            {
                Policy = "", Reward = p.GetValue(reward)!, PromptsPerStep = p.GetValue(prompts), SamplesPerPrompt = p.GetValue(samples),
                TargetKl = p.GetValue(targetKl), InitKlCoef = p.GetValue(initKl),
            }, Common(p));
            return Report(PpoTrainer.Run(options, p.GetValue(output)!, p.GetValue(resume), Progress()), p.GetValue(output)!);
        });

        var grpoReward = new Option<string>("--reward") { Description = "exact-match (verifiable), style, or rm:DIR.", DefaultValueFactory = _ => "exact-match" };
        var grpoPrompts = new Option<int>("--prompts-per-step") { DefaultValueFactory = _ => 8 };
        var group = new Option<int>("--group-size") { Description = "Replies per prompt, normalised together.", DefaultValueFactory = _ => 8 };
        var grpoBeta = new Option<double>("--beta") { Description = "Weight of the k3 KL penalty (0 = no reference).", DefaultValueFactory = _ => 0.04 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature of the groups.", DefaultValueFactory = _ => new GrpoOptions { Policy = "" }.Temperature };
        var grpo = new Command("grpo", "RL from verifiable rewards with GRPO: k samples per prompt, group-normalised advantages.") { grpoReward, grpoPrompts, group, grpoBeta, temperature };
        foreach (var o in common) grpo.Options.Add(o);
        grpo.SetAction(p =>
        {
            var options = Merge(new GrpoOptions { Policy = "", Reward = p.GetValue(grpoReward)!, PromptsPerStep = p.GetValue(grpoPrompts), SamplesPerPrompt = p.GetValue(group), Beta = p.GetValue(grpoBeta),
                Temperature = p.GetValue(temperature),
            }, Common(p));
            return Report(GrpoTrainer.Run(options, p.GetValue(output)!, p.GetValue(resume), Progress()), p.GetValue(output)!);
        });

        var evalPolicy = new Option<string>("--policy") { Description = "Checkpoint to score (an aligned policy, or the SFT model).", Required = true };
        var reference = new Option<string?>("--reference") { Description = "The SFT checkpoint: KL to it and reward-model win rate against its replies." };
        var rm = new Option<string?>("--reward-model") { Description = "Reward model directory (sharplm rm train)." };
        var n = new Option<int>("--n") { Description = "best-of-n: samples per prompt (0 = greedy replies, no selection).", DefaultValueFactory = _ => 0 };
        var limit = new Option<int>("--eval-limit") { Description = "Held-out prompts (0 = all).", DefaultValueFactory = _ => 0 };
        var evalSeed = new Option<int>("--seed") { DefaultValueFactory = _ => 1337 };
        var eval = new Command("eval", "Score a checkpoint on the synthetic suite's held-out prompts: exact match, house-style rate, reward-model win rate vs the reference, KL; --n N for best-of-n.")
        {
            evalPolicy, reference, rm, n, limit, evalSeed,
        };
        eval.SetAction(p =>
        {
            var scores = AlignmentEvaluation.Evaluate(p.GetValue(evalPolicy)!, p.GetValue(reference), p.GetValue(rm), p.GetValue(n), p.GetValue(limit), p.GetValue(evalSeed));
            Console.WriteLine(JsonSerializer.Serialize(scores, Json.Options));
            return 0;
        });
        return new Command("align", "Alignment tuning (survey §5.2): DPO and its relatives, PPO-RLHF, GRPO, and evaluation with best-of-n.") { dpo, ppo, grpo, eval };
    }

    /// <summary>The shared options into a trainer's record.</summary>
    static T Merge<T>(T options, AlignmentOptions common) where T : AlignmentOptions => options with
    {
        Policy = common.Policy, Method = common.Method, MaxIters = common.MaxIters, LearningRate = common.LearningRate, Seed = common.Seed,
        Threads = common.Threads, CheckpointInterval = common.CheckpointInterval, Lora = common.Lora,
    };

    /// <summary>A progress line every few seconds: step, the step's main figures, ms/iter and ETA.</summary>
    internal static Action<AlignmentStep> Progress(string? prefix = null)
    {
        var c = CultureInfo.InvariantCulture;
        DateTime last = DateTime.MinValue;
        string[] keys = ["loss", "reward_accuracy", "reward_mean", "kl", "rule_rate", "exact_match", "accuracy"];
        return s =>
        {
            if (DateTime.UtcNow - last < TimeSpan.FromSeconds(3) && s.Step + 1 < s.MaxIters) return;
            last = DateTime.UtcNow;
            double eta = s.MsPerIter * (s.MaxIters - s.Step - 1) / 1000;
            string figures = string.Join("  ", keys.Where(s.Values.ContainsKey).Select(k => string.Create(c, $"{k} {s.Values[k]:F4}")));
            Console.WriteLine(string.Create(c, $"{prefix}step {s.Step + 1}/{s.MaxIters}  {figures}  {s.MsPerIter:F0} ms/iter  ETA {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}"));
        };
    }

    static int Report(AlignmentSummary summary, string outDir)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("algorithm", summary.Algorithm);
        table.AddRow("method", summary.Method);
        table.AddRow("trainable parameters", summary.TrainableParameters.ToString("N0", c));
        table.AddRow("steps", summary.ResumedFrom > 0 ? string.Create(c, $"{summary.Iters} (resumed at {summary.ResumedFrom})") : summary.Iters.ToString(c));
        if (summary.SampledReplies > 0) table.AddRow("sampled replies", summary.SampledReplies.ToString("N0", c));
        foreach (var (k, v) in summary.Final) table.AddRow(k, v.ToString("G6", c));
        table.AddRow("train time", string.Create(c, $"{summary.TrainSeconds:F1} s"));
        table.AddRow("peak RSS", string.Create(c, $"{summary.PeakRssMb:F0} MB"));
        AnsiConsole.Write(table);
        Console.WriteLine($"wrote {outDir}: the aligned policy (checkpoint.json), metrics.jsonl, {DpoTrainer.SummaryFile}, PNG curves");
        return 0;
    }
}
