using LLama;
using LLama.Common;
using SharpLM.Checkpoints;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using SharpLM.Training;
using static TorchSharp.torch;

namespace SharpLM.Tests.Checkpoints;

public class GgufTests
{
    const string Text = "the quick brown fox jumps over the lazy dog. a lazy cat sleeps by the warm fire; the dog barks at the fox. ";

    /// <summary>A small model of <paramref name="arch"/>'s shape trained on <see cref="Text"/>, with its tokenizer.</summary>
    internal static (Gpt Model, ITokenizer Tokenizer) Trained(string arch, string dir)
    {
        File.WriteAllText(Path.Combine(dir, "input.txt"), string.Concat(Enumerable.Repeat(Text, 60)));
        string spec = "char";
        if (arch == "llama")
        {
            // A byte-level BPE trained on the text, so the llama export also carries merges.
            var trainer = new BpeTrainer(new() { VocabSize = 300 });
            trainer.AddDocument(Text);
            spec = Path.Combine(dir, "bpe");
            Directory.CreateDirectory(spec);
            trainer.Train().Save(spec);
        }
        SharpLM.Data.DataPreparer.Prepare(Path.Combine(dir, "input.txt"), spec, Path.Combine(dir, "data"));
        var tokenizer = TokenizerFactory.Load(Path.Combine(dir, "data"));
        var model = new ModelConfig { VocabSize = tokenizer.VocabSize, BlockSize = 96, NLayer = 2, NHead = 4, NEmbd = 64 };
        model = arch == "gpt2"
            ? model with { Activation = "gelu_tanh" }
            : model with { NKvHead = 2, Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", Bias = false, TieEmbeddings = false, MlpHidden = 160 };
        var config = TinyRuns.Config(maxIters: 150, evalInterval: 150) with
        {
            Tokenizer = spec, Model = model,
            Training = TinyRuns.Config().Training with { MaxIters = 150, LrDecayIters = 150, EvalInterval = 150, BatchSize = 8 },
        };
        new Trainer(config, Path.Combine(dir, "data"), Path.Combine(dir, "run")).Run(false);
        var (loaded, _) = Checkpoint.LoadModel(Path.Combine(dir, "run"), CPU);
        loaded.eval();
        return ((Gpt)loaded, tokenizer);
    }

    static int[] SharpLmGreedy(Gpt model, ITokenizer tokenizer, int[] prompt, int n) =>
        new SharpLM.Inference.Generator(model, tokenizer, CPU).GenerateTokens(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = n }).ToArray();

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void A_trained_model_written_as_gguf_continues_greedily_in_llama_cpp_as_in_sharplm(string arch)
    {
        using var dir = new TempDirectory();
        var (model, tokenizer) = Trained(arch, dir.Path);
        string gguf = dir.File("model.gguf");
        Assert.Equal(arch, GgufCheckpoint.Save(model, tokenizer, gguf));

        var parameters = new ModelParams(gguf) { ContextSize = 96, BatchSize = 96, Threads = 1, GpuLayerCount = 0 };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        // llama.cpp's own tokenizer, from the exported vocabulary and merges, gives SharpLM's ids.
        string promptText = "the lazy dog";
        int[] prompt = tokenizer.Encode(promptText);
        Assert.Equal(prompt, context.Tokenize(promptText, addBos: false, special: true).Select(t => (int)t).ToArray());
        int[] ours = SharpLmGreedy(model, tokenizer, prompt, 64);
        Assert.Equal(64, ours.Length);
        Assert.Equal(ours, LlamaCpp.Greedy(context, prompt, 64));
        Assert.True(ours.Distinct().Count() > 5, "the continuation is too repetitive to tell the models apart");
    }

    [Theory]
    [InlineData("gpt2", ScalarType.Float32)]
    [InlineData("llama", ScalarType.Float32)]
    [InlineData("llama", ScalarType.BFloat16)]
    public void A_gguf_file_loads_back_as_the_same_model_and_tokenizer(string arch, ScalarType dtype)
    {
        using var dir = new TempDirectory();
        var model = new Gpt(arch == "gpt2"
            ? new ModelConfig { VocabSize = 40, BlockSize = 16, NLayer = 2, NHead = 2, NEmbd = 32, Activation = "gelu_tanh", MlpHidden = 48, TieEmbeddings = false }
            : new ModelConfig
            {
                VocabSize = 40, BlockSize = 16, NLayer = 2, NHead = 4, NKvHead = 2, NEmbd = 32, Norm = "rmsnorm", Activation = "swiglu",
                PositionEncoding = "rope", Bias = false, RopeScaling = new RopeScaling { Type = "linear", Factor = 2 },
            });
        model.eval();
        var tokenizer = CharTokenizer.FromText("abcdefghijklmnopqrstuvwxyzé€😀 .,;\n");
        GgufCheckpoint.Save(model, tokenizer, dir.File("m.gguf"), dtype);
        var (loaded, loadedTokenizer, _) = GgufCheckpoint.Load(dir.File("m.gguf"));
        Assert.Equal(model.Config with { MlpHidden = FeedForward.HiddenSize(model.Config) }, loaded.Config);
        foreach (var (name, p) in model.state_dict())
            Assert.True(p.to(dtype).to(ScalarType.Float32).Equals(loaded.state_dict()[name]), $"{name} differs after the round trip");
        string text = "héllo € 😀 world;\n";
        Assert.Equal(tokenizer.Encode(text), loadedTokenizer.Encode(text));
    }

    [Fact]
    public void Models_llama_cpp_cannot_run_are_refused_naming_the_field()
    {
        using var dir = new TempDirectory();
        var tokenizer = CharTokenizer.FromText("ab");
        var shifted = new Gpt(new ModelConfig { VocabSize = 2, BlockSize = 8, NLayer = 1, NHead = 1, NEmbd = 8, Activation = "gelu_tanh", TokenShift = 1 });
        Assert.Contains("token_shift 1", Assert.Throws<InvalidInputException>(() => GgufCheckpoint.Save(shifted, tokenizer, dir.File("a.gguf"))).Message);
        var exactGelu = new Gpt(new ModelConfig { VocabSize = 2, BlockSize = 8, NLayer = 1, NHead = 1, NEmbd = 8 });
        Assert.Contains("activation 'gelu'", Assert.Throws<InvalidInputException>(() => GgufCheckpoint.Save(exactGelu, tokenizer, dir.File("a.gguf"))).Message);
        Assert.False(File.Exists(dir.File("a.gguf")));
    }

    [Fact]
    public void A_thousand_corrupted_gguf_files_each_give_a_one_line_error_naming_the_file()
    {
        using var dir = new TempDirectory();
        var model = new Gpt(new ModelConfig { VocabSize = 12, BlockSize = 8, NLayer = 1, NHead = 2, NEmbd = 16, Activation = "gelu_tanh" });
        string good = dir.File("good.gguf");
        GgufCheckpoint.Save(model, CharTokenizer.FromText("abcdefghijkl"), good);
        byte[] original = File.ReadAllBytes(good);
        var rng = new Random(11);
        int errors = 0;
        for (int i = 0; i < 1000; i++)
        {
            byte[] bytes = (byte[])original.Clone();
            int headerEnd = Math.Min(bytes.Length, 2048);
            switch (i % 4)
            {
                case 0: bytes = bytes[..rng.Next(bytes.Length)]; break;                                      // truncated
                case 1: bytes[rng.Next(headerEnd)] = (byte)rng.Next(256); break;                              // one header byte
                case 2: for (int k = 0; k < 8; k++) bytes[rng.Next(headerEnd)] ^= (byte)(1 << rng.Next(8)); break;
                default: BitConverter.TryWriteBytes(bytes.AsSpan(rng.Next(headerEnd - 8)), rng.Next(2) == 0 ? ulong.MaxValue >> rng.Next(64) : (ulong)rng.Next()); break;
            }
            string path = dir.File($"bad{i}.gguf");
            File.WriteAllBytes(path, bytes);
            try
            {
                GgufCheckpoint.Load(path);
            }
            catch (InvalidInputException e)
            {
                errors++;
                Assert.StartsWith(path, e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
            File.Delete(path);
        }
        Assert.True(errors > 500, $"only {errors} of 1,000 corruptions were detected");
    }
}
