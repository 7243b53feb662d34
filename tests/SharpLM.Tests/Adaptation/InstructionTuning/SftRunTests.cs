using System.Text.Json;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Adaptation.InstructionTuning;

public class SftRunTests
{
    /// <summary>A tiny random base whose tokenizer has printable ASCII and, unless told otherwise, the ChatML tokens.</summary>
    internal static string SaveBase(TempDirectory dir, bool chatTokens = true)
    {
        string ascii = "\n" + new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray());
        ITokenizer tokenizer = CharTokenizer.FromText(ascii);
        if (chatTokens) tokenizer = tokenizer.WithSpecialTokens(SpecialTokens.ChatMl);
        torch.manual_seed(5);
        using var model = new Gpt(new ModelConfig { VocabSize = tokenizer.VocabSize, BlockSize = 96, NLayer = 1, NHead = 2, NEmbd = 32, InitStd = 0.1 });
        string path = dir.File(chatTokens ? "base" : "plain-base");
        Directory.CreateDirectory(path);
        Checkpoint.Save(path, model, null, new CheckpointManifest { Step = 0, Model = model.Config, ModelFile = "", ModelSha256 = "" });
        tokenizer.Save(path);
        return path;
    }

    static SftRunOptions Options(string baseDir, string method) => new()
    {
        Base = baseDir, Data = "synthetic:3", Format = "tasks", Method = method, EvalLimit = 6,
        Suite = new SyntheticSuiteOptions { Seed = 3, TrainPerTask = 8, TestPerTask = 2 },
        Lora = new LoraOptions { Rank = 4 },
        Training = new SftOptions { MaxIters = 6, BatchSize = 4, EvalInterval = 3, Threads = 1 },
    };

    [Fact]
    public void A_lora_run_writes_a_small_adapter_that_loads_onto_its_base_and_merges_to_the_same_logits()
    {
        using var dir = new TempDirectory();
        string baseDir = SaveBase(dir);
        var summary = SftRun.Run(Options(baseDir, "lora"), dir.File("lora"));
        Assert.Equal("lora", summary.Method);
        Assert.True(summary.Training.TrainablePercent < 20);
        Assert.Equal(2, summary.Training.Evaluations.Count); // step 3 and the end
        Assert.Equal(6, summary.HeldOutPrompts);
        Assert.True(File.Exists(Path.Combine(dir.File("lora"), SftRun.SummaryFile)));
        Assert.True(File.Exists(Path.Combine(dir.File("lora"), ChatTemplate.FileName)));
        long baseBytes = new FileInfo(Path.Combine(baseDir, Checkpoint.ReadManifest(baseDir).ModelFile)).Length;
        Assert.True(summary.SavedBytes < baseBytes / 4, $"adapter {summary.SavedBytes} B vs base {baseBytes} B");

        var (loaded, _) = Checkpoint.LoadModel(baseDir, CPU);
        var model = (Gpt)loaded;
        var lora = Assert.IsType<LoraTuning>(PeftMethod.Load(dir.File("lora"), model, baseDir));
        model.eval();
        using var merged = lora.ExportMerged();
        merged.eval();
        var ids = tensor(new long[] { 5, 9, 12, 40, 3 }, new long[] { 1, 5 });
        using var _ = no_grad();
        Assert.True(model.forward(ids).allclose(merged.forward(ids), rtol: 0, atol: 1e-5));
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("adapter")]
    [InlineData("prefix")]
    [InlineData("prompt")]
    public void A_seed_reproduces_a_peft_run_whatever_the_random_state_before_it(string method)
    {
        using var dir = new TempDirectory();
        string baseDir = SaveBase(dir);
        byte[] Weights(string name, int seed, long disturb)
        {
            torch.manual_seed(disturb); // what ran before in the process must not matter: the method's init is seeded
            var options = Options(baseDir, method);
            SftRun.Run(options with { Training = options.Training with { MaxIters = 2, Seed = seed } }, dir.File(name));
            return File.ReadAllBytes(Path.Combine(dir.File(name), AdapterDirectory.WeightsFile));
        }
        var first = Weights("a", 11, 1);
        Assert.Equal(first, Weights("b", 11, 2));
        Assert.NotEqual(first, Weights("c", 12, 1));
    }

    [Fact]
    public void Full_fine_tuning_writes_a_checkpoint_and_a_base_without_chat_tokens_is_refused_for_peft_but_grown_for_full()
    {
        using var dir = new TempDirectory();
        string plain = SaveBase(dir, chatTokens: false);
        var e = Assert.Throws<InvalidInputException>(() => SftRun.Run(Options(plain, "lora"), dir.File("lora")));
        Assert.Contains("lacks the chat tokens", e.Message);
        Assert.Contains(plain, e.Message);

        var summary = SftRun.Run(Options(plain, "full"), dir.File("full"));
        Assert.Equal(summary.Training.TotalParameters, summary.Training.TrainableParameters);
        var (model, manifest) = Checkpoint.LoadModel(dir.File("full"), CPU);
        var tokenizer = TokenizerFactory.Load(dir.File("full"));
        Assert.Equal(tokenizer.VocabSize, manifest.Model.VocabSize); // the vocabulary grew by the chat tokens
        Assert.NotNull(tokenizer.IdOf(SpecialTokens.ImEnd));
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("full"), SftRun.SummaryFile)));
        Assert.True(report.RootElement.TryGetProperty("base_exact_match", out _));
        Assert.Throws<InvalidInputException>(() => SftRun.Run(Options(plain, "full"), dir.File("full"))); // never overwrites
    }

    [Fact]
    public void Unknown_methods_and_formats_are_named()
    {
        using var dir = new TempDirectory();
        string baseDir = SaveBase(dir);
        Assert.Contains("--method", Assert.Throws<InvalidInputException>(() => SftRun.Run(Options(baseDir, "qlora"), dir.File("x"))).Message);
        var e = Assert.Throws<InvalidInputException>(() => SftRun.Run(Options(baseDir, "full") with { Format = "csv", Data = "x.csv" }, dir.File("y")));
        Assert.Contains("--format", e.Message);
    }

    [Fact]
    public void Conversations_the_tokenizer_cannot_encode_are_left_out_and_counted()
    {
        using var dir = new TempDirectory();
        string baseDir = SaveBase(dir);
        string data = dir.File("chat.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 6).Select(i =>
            $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"say {i}\"}}, {{\"role\": \"assistant\", \"content\": \"{(i == 1 ? "caf\u00e9" : i.ToString())}\"}}]}}"));
        var options = Options(baseDir, "full") with { Data = data, Format = "messages", Suite = null };
        var summary = SftRun.Run(options, dir.File("run"));
        Assert.Equal(1, summary.SkippedExamples);     // "café": é is not in the base's ASCII alphabet
        Assert.Equal(4, summary.TrainExamples);       // 6 conversations, the last one held out, one left out
        Assert.Equal(1, summary.HeldOutPrompts);
    }
}
