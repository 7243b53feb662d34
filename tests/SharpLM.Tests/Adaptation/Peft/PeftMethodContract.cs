using SharpLM.Adaptation.Peft;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Peft;

/// <summary>
/// What every parameter-efficient method must do; each method's test class derives from this and says how to
/// apply it and how many parameters it should add.
/// </summary>
public abstract class PeftMethodContract
{
    protected abstract PeftMethod Apply(Gpt model);

    /// <summary>The parameters the method should add to <paramref name="config"/>'s model.</summary>
    protected abstract long ExpectedTrainable(ModelConfig config);

    [Fact]
    public void Training_moves_only_the_method_parameters_and_lowers_the_loss()
    {
        var model = Base();
        var before = Snapshot(model);
        var method = Apply(model);
        Assert.All(method.BaseParameters, p => Assert.False(p.Parameter.requires_grad, $"{p.Name} is not frozen"));
        Assert.All(method.TrainableParameters, p => Assert.True(p.Parameter.requires_grad, $"{p.Name} is frozen"));
        var trainableBefore = method.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.detach().clone());

        var (losses, optimized) = Train(method);

        AssertBitIdentical(before, model, "base weight after training");
        Assert.All(method.BaseParameters, p => Assert.True(p.Parameter.grad is null, $"{p.Name} got a gradient"));
        // Optimizer state exists for the method's parameters only.
        Assert.Equal(method.TrainableParameterCount, optimized);
        // A random frozen base gives small logits, so the method moves the loss slowly; frozen gradients would not move it at all.
        Assert.True(losses[^1] < losses[0] - 0.02, $"loss did not fall: {string.Join(", ", losses)}");
        Assert.Contains(method.TrainableParameters, p => !p.Parameter.detach().Equals(trainableBefore[p.Name]));
    }

    [Fact]
    public void Trainable_count_and_percentage_are_the_method_parameters()
    {
        var model = Base();
        long baseCount = model.ParameterCount;
        var method = Apply(model);
        long expected = ExpectedTrainable(model.Config);
        Assert.Equal(expected, method.TrainableParameterCount);
        Assert.Equal(baseCount + expected, method.TotalParameterCount);
        Assert.Equal(100.0 * expected / (baseCount + expected), method.TrainablePercent, 10);
        Assert.Equal(expected, method.TrainableParameters.Sum(p => p.Parameter.numel()));
        Assert.Contains($"trainable params: {expected:N0}", method.Summary);
    }

    [Fact]
    public void Save_then_load_onto_the_same_base_gives_identical_logits()
    {
        using var dir = new TempDirectory();
        var method = Apply(Base(seed: 1));
        Train(method, steps: 3);
        method.Save(dir.Path);
        var (x, _) = Batch();
        var trained = Logits(method.Model, x);

        var loaded = PeftMethod.Load(dir.Path, Base(seed: 1));
        Assert.Equal(method.Method, loaded.Method);
        Assert.Equal(method.BaseSha256, loaded.BaseSha256);
        // Prefix tuning saves (and loads) its collapsed form, so the count is the saved one.
        Assert.Equal(AdapterDirectory.ReadConfig(dir.Path).TrainableParameters, loaded.TrainableParameterCount);
        Assert.True(trained.Equals(Logits(loaded.Model, x)), $"logits differ by {MaxAbsDiff(trained, Logits(loaded.Model, x))}");
        Assert.True(File.Exists(dir.File(AdapterDirectory.ConfigFile)));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.tmp-*"));
    }

    [Fact]
    public void Loading_onto_a_different_base_fails_naming_both_weight_hashes()
    {
        using var dir = new TempDirectory();
        var method = Apply(Base(seed: 1));
        method.Save(dir.Path);
        var other = Base(seed: 2);
        string otherHash = BaseWeights.Sha256(other);
        var e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, other, baseCheckpoint: "runs/other"));
        Assert.Contains(method.BaseSha256, e.Message);
        Assert.Contains(otherHash, e.Message);
        Assert.Contains("runs/other", e.Message);
        Assert.Contains(AdapterDirectory.ConfigFile, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(PeftMethod.IsAdapted(other)); // refused before anything was attached
    }

    [Theory]
    [InlineData("learned", 0, "causal_decoder")]
    [InlineData("sinusoidal", 0, "causal_decoder")]
    [InlineData("rope", 1, "causal_decoder")]
    [InlineData("alibi", 1, "causal_decoder")]
    [InlineData("t5", 0, "causal_decoder")]
    [InlineData("rope", 1, "prefix_decoder")]
    public void Cached_decoding_equals_uncached(string position, int kvHeads, string architecture)
    {
        var method = Apply(Base(seed: 3, Config(position, kvHeads, architecture)));
        Train(method, steps: 2); // so that a zero-initialised method matters
        double worst = CachedVersusUncached(method.Model, new long[] { 1, 2, 3, 4, 5 }, steps: 6);
        Assert.True(worst < 1e-4, $"cached and uncached logits differ by {worst}");
    }

    [Fact]
    public void Generator_gives_the_same_tokens_with_and_without_the_cache_past_the_context()
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(4);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize));
        model.eval();
        Apply(model);
        var generator = new SharpLM.Inference.Generator(model, tokenizer, CPU);
        var prompt = tokenizer.Encode("the quick");
        var options = new SamplingOptions { MaxNewTokens = 30, Temperature = 1.0, Seed = 5 };
        var cached = generator.GenerateTokens(prompt, options).ToList();
        var uncached = generator.GenerateTokens(prompt, options with { UseKvCache = false }).ToList();
        Assert.Equal(30, cached.Count);
        Assert.Equal(uncached, cached);
    }
}
