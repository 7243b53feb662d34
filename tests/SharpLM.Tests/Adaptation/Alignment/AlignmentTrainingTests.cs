using SharpLM.Adaptation;
using System.Diagnostics;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Modeling;
using SharpLM.Tests.Adaptation.InstructionTuning;
using SharpLM.Tests.Cli;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Adaptation.Alignment;

public class AlignmentTrainingTests
{
    static readonly SyntheticSuiteOptions Suite = new() { Seed = 3, TrainPerTask = 8, TestPerTask = 4 };
    static readonly LoraOptions Lora = new() { Rank = 4, Alpha = 8, TargetModules = ["attn.c_attn", "attn.c_proj", "mlp.c_proj"] };

    static (IReadOnlyList<PreferencePair> Train, IReadOnlyList<PreferencePair> Test) Pairs() =>
        SyntheticPreferences.Build(new SyntheticPreferenceOptions { Suite = Suite, Kind = "style" });

    static DpoOptions Dpo(string policy, string loss = DpoLossTypes.Sigmoid) => new()
    {
        Policy = policy, Lora = Lora, LossType = loss, MaxIters = 6, BatchSize = 4, LearningRate = 1e-2, Threads = 1, CheckpointInterval = 2, Seed = 11,
    };

    static PpoOptions Ppo(string policy, string reward) => new()
    {
        Policy = policy, Lora = Lora, Reward = reward, Suite = Suite, MaxIters = 5, PromptsPerStep = 3, SamplesPerPrompt = 2, MaxNewTokens = 6,
        PpoEpochs = 2, MiniBatches = 2, LearningRate = 1e-2, Threads = 1, CheckpointInterval = 2, Seed = 11,
    };

    static string FinalWeightsSha(string dir) => Checkpoint.ReadManifest(dir).ModelSha256;

    [Fact]
    public void A_reward_model_learns_the_house_style_and_scores_the_same_after_loading()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var (train, test) = Pairs();
        var summary = RewardModelTrainer.Run(new RewardModelOptions { Base = baseDir, MaxIters = 40, BatchSize = 8, LearningRate = 3e-3, EvalInterval = 20, Threads = 1 },
            train, test, dir.File("rm"));
        Assert.Equal(2, summary.Evaluations.Count);
        var final = summary.Evaluations[^1];
        Assert.True(final.Accuracy >= 0.9, $"held-out accuracy {final.Accuracy}");
        Assert.InRange(final.Accuracy, final.Low, final.High);
        Assert.True(File.Exists(dir.File("rm/loss.png")) && File.Exists(dir.File("rm/rm_summary.json")));

        using var loaded = RewardModel.Load(dir.File("rm"), CPU);
        var again = RewardEval.Measure(loaded, test, 0);
        Assert.Equal(final.Accuracy, again.Accuracy);
        Assert.Equal(final.MeanMargin, again.MeanMargin, 3);
    }

    [Fact]
    public void A_reward_model_that_reads_another_tokenizer_is_refused_naming_both()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var (train, test) = Pairs();
        RewardModelTrainer.Run(new RewardModelOptions { Base = baseDir, MaxIters = 1, BatchSize = 2, Threads = 1 }, train.Take(4).ToList(), test.Take(2).ToList(), dir.File("rm"));
        // The same model with one more special token (and an embedding row for it): another tokenizer.json, so other
        // token ids could mean other text.
        string other = dir.File("other");
        Directory.CreateDirectory(other);
        var tokenizer = TokenizerFactory.Load(baseDir).WithSpecialTokens(["<|extra|>"]);
        var grown = ModelBundle.Load(baseDir).Decoder("the test");
        grown.ResizeVocabulary(tokenizer.VocabSize);
        Checkpoint.Save(other, grown, null, new CheckpointManifest { Step = 0, Model = grown.Config, ModelFile = "", ModelSha256 = "" });
        tokenizer.Save(other);
        using var policy = AlignmentPolicy.Load(other, PolicyMethods.Lora, Lora, valueHead: false, 1, CPU);
        var e = Assert.Throws<InvalidInputException>(() => RewardFunctions.Parse("rm:" + dir.File("rm"), policy, CPU));
        Assert.Contains("reward_head.json", e.Message);
        Assert.Contains(other, e.Message);
        Assert.Contains("tokenizer sha256", e.Message);
    }

    [Fact]
    public void With_lora_the_reference_is_exactly_the_checkpoint_however_far_the_policy_moves()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        using var policy = AlignmentPolicy.Load(baseDir, PolicyMethods.Lora, Lora, valueHead: true, 1, CPU);
        using (no_grad())
            foreach (var (_, p) in policy.Trainable) p.add_(0.5);
        var (plain, _, _) = AlignmentPolicy.LoadChatModel(baseDir, CPU);
        using var ids = tensor(new long[] { 5, 9, 12, 40, 3, 7 }, new long[] { 1, 6 });
        using var expected = plain.forward(ids);
        using var reference = policy.ReferenceLogits(ids);
        using var moved = policy.Model.forward(ids);
        Assert.True(reference.eq(expected).all().item<bool>(), "the adapter switched off must give the base's logits bit for bit");
        Assert.False(moved.allclose(expected), "the policy itself has moved");
        // And the adapter is back on afterwards.
        using var after = policy.Model.forward(ids);
        Assert.True(after.eq(moved).all().item<bool>());
    }

    [Fact]
    public void Grouped_greedy_rollouts_through_the_kv_cache_equal_the_uncached_generator()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var (model, tokenizer, template) = AlignmentPolicy.LoadChatModel(baseDir, CPU);
        int[] prompt = ReplySequences.PromptIds([Turn.User("Reverse the word apple.")], template, tokenizer);
        int stop = tokenizer.IdOf(template.EndOfTurn)!.Value;
        var grouped = Rollouts.Sample(model, tokenizer, prompt, 3, 10, 0, stop, CPU);
        var uncached = new SharpLM.Inference.Generator(model, tokenizer, CPU)
            .GenerateTokens(prompt, new SharpLM.Inference.SamplingOptions { Temperature = 0, MaxNewTokens = 10, UseKvCache = false }).ToList();
        foreach (var r in grouped)
            Assert.Equal(uncached.Take(r.Tokens.Length).Select(t => t).ToArray(), r.Tokens.Take(uncached.Count).ToArray());
    }

    [Fact]
    public void Dpo_raises_the_chosen_replys_implicit_reward_over_the_rejected_one()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var summary = DpoTrainer.Run(Dpo(baseDir) with { MaxIters = 12, CheckpointInterval = 0 }, Pairs().Train, dir.File("dpo"));
        var steps = File.ReadAllLines(dir.File("dpo/metrics.jsonl"));
        Assert.Equal(12, steps.Length);
        Assert.True(summary.Final["reward_margin"] > 0, $"margin {summary.Final["reward_margin"]}");
        Assert.True(summary.Final["loss"] < Math.Log(2), $"loss {summary.Final["loss"]} should fall below log 2, where it starts");
        Assert.False(Directory.Exists(dir.File("dpo/state")), "a finished run drops its resume state");
        var (model, _) = Checkpoint.LoadModel(dir.File("dpo"), CPU); // the aligned policy is a plain checkpoint
        Assert.IsType<Gpt>(model);
    }

    [Theory]
    [InlineData(DpoLossTypes.Sigmoid)]
    [InlineData(DpoLossTypes.Ipo)]
    [InlineData(DpoLossTypes.Hinge)]
    [InlineData(DpoLossTypes.SimPo)]
    public void An_interrupted_dpo_run_resumes_to_the_same_weights(string loss)
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var pairs = Pairs().Train;
        DpoTrainer.Run(Dpo(baseDir, loss), pairs, dir.File("whole"));
        using var stop = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
            DpoTrainer.Run(Dpo(baseDir, loss), pairs, dir.File("killed"), onStep: s => { if (s.Step == 2) stop.Cancel(); }, cancel: stop.Token));
        var resumed = DpoTrainer.Run(Dpo(baseDir, loss), pairs, dir.File("killed"), resume: true);
        Assert.Equal(2, resumed.ResumedFrom);
        Assert.Equal(FinalWeightsSha(dir.File("whole")), FinalWeightsSha(dir.File("killed")));
        Assert.Equal(File.ReadAllLines(dir.File("whole/metrics.jsonl")).Length, File.ReadAllLines(dir.File("killed/metrics.jsonl")).Length);
    }

    [Fact]
    public void An_interrupted_ppo_run_resumes_to_the_same_weights_value_head_and_kl_coefficient()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var whole = PpoTrainer.Run(Ppo(baseDir, "style"), dir.File("whole"));
        using var stop = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
            PpoTrainer.Run(Ppo(baseDir, "style"), dir.File("killed"), onStep: s => { if (s.Step == 2) stop.Cancel(); }, cancel: stop.Token));
        var resumed = PpoTrainer.Run(Ppo(baseDir, "style"), dir.File("killed"), resume: true);
        Assert.Equal(2, resumed.ResumedFrom);
        Assert.Equal(FinalWeightsSha(dir.File("whole")), FinalWeightsSha(dir.File("killed")));
        Assert.Equal(whole.Final["kl_coef"], resumed.Final["kl_coef"]);
        Assert.Equal(whole.Final["reward_mean"], resumed.Final["reward_mean"]);
        Assert.Equal(File.ReadAllText(dir.File("whole/metrics.jsonl")).Split('\n').Select(l => l.Split("\"ms_per_iter\"")[0]),
            File.ReadAllText(dir.File("killed/metrics.jsonl")).Split('\n').Select(l => l.Split("\"ms_per_iter\"")[0]));
    }

    [Fact]
    public void Grpo_with_a_rule_reward_trains_and_logs_group_figures()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var summary = GrpoTrainer.Run(new GrpoOptions
        {
            Policy = baseDir, Lora = Lora, Suite = Suite, Reward = "style", MaxIters = 3, PromptsPerStep = 2, SamplesPerPrompt = 4, MaxNewTokens = 6, Threads = 1, CheckpointInterval = 0,
        }, dir.File("grpo"));
        Assert.Equal(3 * 2 * 4, summary.SampledReplies);
        Assert.InRange(summary.Final["zero_std_groups"], 0, 1);
        Assert.True(summary.Final.ContainsKey("exact_match") && summary.Final.ContainsKey("kl"));
        Assert.True(File.Exists(dir.File("grpo/reward.png")) && File.Exists(dir.File("grpo/kl.png")));
    }

    [Fact]
    public void Resuming_with_other_options_is_refused_naming_the_field()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var pairs = Pairs().Train;
        using var stop = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
            DpoTrainer.Run(Dpo(baseDir), pairs, dir.File("run"), onStep: s => { if (s.Step == 2) stop.Cancel(); }, cancel: stop.Token));
        var e = Assert.Throws<InvalidInputException>(() => DpoTrainer.Run(Dpo(baseDir) with { Beta = 0.5 }, pairs, dir.File("run"), resume: true));
        Assert.Contains("beta", e.Message);
        var again = Assert.Throws<InvalidInputException>(() => DpoTrainer.Run(Dpo(baseDir), pairs, dir.File("run")));
        Assert.Contains("--resume", again.Message);
    }

    [Fact]
    public void Styled_replies_change_only_the_form_of_that_share_of_training_answers()
    {
        var plain = SyntheticSuite.Build(new SyntheticSuiteOptions());
        var styled = SyntheticSuite.Build(new SyntheticSuiteOptions { StyledReplies = 0.3 });
        Assert.Equal(plain.Train.Select(e => e.Prompt), styled.Train.Select(e => e.Prompt));
        Assert.Equal(plain.TestSeen, styled.TestSeen);
        Assert.Equal(plain.Train.Select(e => e.Answer), styled.Train.Select(e => AnswerStyle.Strip(e.Answer)));
        double share = styled.Train.Average(e => AnswerStyle.Follows(e.Answer) ? 1.0 : 0.0);
        Assert.InRange(share, 0.25, 0.35);
        Assert.True(SyntheticSuite.IsCorrect("Answer: elppa", "elppa"));
        Assert.False(SyntheticSuite.IsCorrect("Answer: apple", "elppa"));
    }

    [Fact]
    public void The_cli_reports_a_bad_preference_line_by_file_and_line_and_exits_non_zero()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        string file = dir.File("prefs.jsonl");
        File.WriteAllLines(file, ["""{"prompt":"Hi","chosen":"Hello","rejected":"Go away"}""", """{"prompt":"Hi","chosen":"Same","rejected":"Same"}"""]);
        var result = CliProcess.Run("align", "dpo", "--policy", baseDir, "--data", file, "--out", dir.File("out"), "--max-iters", "1");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("prefs.jsonl:2", result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("dpo")]
    [InlineData("ppo")]
    public void Sigkill_during_a_cli_alignment_run_then_resume_ends_with_the_uninterrupted_weights(string method)
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        // PPO's state adds the value head, the KL controller and the sampling RNG to what DPO saves.
        string[] specific = method == "dpo" ? ["--max-iters", "40"] : ["--reward", "style", "--max-iters", "12", "--prompts-per-step", "4"];
        string[] Args(string outDir) => ["align", method, "--policy", baseDir, "--out", outDir, .. specific, "--checkpoint-interval", method == "dpo" ? "5" : "2", "--threads", "1", "--lora-r", "4"];
        Assert.Equal(0, CliProcess.Run(Args(dir.File("whole"))).ExitCode);

        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll"));
        foreach (string a in Args(dir.File("killed"))) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            string state = dir.File("killed/state/state.json");
            var wait = Stopwatch.StartNew();
            while (!File.Exists(state) && !p.HasExited && wait.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(20);
            Assert.False(p.HasExited, "the run ended before it could be killed");
            p.Kill(); // SIGKILL on Unix
            p.WaitForExit();
        }
        Assert.False(Checkpoint.Exists(dir.File("killed")), "the killed run had not finished");
        var resumed = CliProcess.Run([.. Args(dir.File("killed")), "--resume"]);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("resumed at", resumed.Stdout);
        Assert.Equal(FinalWeightsSha(dir.File("whole")), FinalWeightsSha(dir.File("killed")));
    }
}
