using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Modeling.Recurrent;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Modeling.Recurrent;

public class RecurrentLanguageModelTests
{
    static ModelConfig Config(string type, int tbptt = 0, bool tied = true) => new()
    {
        Type = type, VocabSize = 20, BlockSize = 12, NLayer = 2, NEmbd = 16, Tbptt = tbptt, TieEmbeddings = tied,
    };

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void Decoding_in_pieces_gives_the_logits_of_one_full_pass(string type)
    {
        manual_seed(3);
        using var model = LanguageModel.Create(Config(type));
        Assert.IsType<RecurrentLanguageModel>(model);
        model.eval();
        using var _ = no_grad();
        var ids = randint(0, 20, new long[] { 2, 10 });
        var full = model.forward(ids);
        using var state = model.NewDecodingState(2, CPU);
        var pieces = new List<Tensor> { model.Decode(ids[.., ..4], state), model.Decode(ids[.., 4..7], state) };
        for (int t = 7; t < 10; t++) pieces.Add(model.Decode(ids[.., t..(t + 1)], state));
        Assert.Equal(10, state.Length);
        Assert.True(full.allclose(cat(pieces, 1), rtol: 1e-5, atol: 1e-5));
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void Generation_with_the_recurrent_state_equals_generation_without_it(string type)
    {
        manual_seed(5);
        using var model = LanguageModel.Create(Config(type));
        var tokenizer = CharTokenizer.FromText("abcdefghijklmnopqrst");
        var generator = new SharpLM.Inference.Generator(model, tokenizer, CPU);
        var options = new SamplingOptions { MaxNewTokens = 20, Temperature = 0.8, Seed = 11 };
        foreach (int promptLength in new[] { 3, 15 }) // the second is longer than block_size 12: the window slides
        {
            var prompt = Enumerable.Range(0, promptLength).Select(i => i % 20).ToList();
            var cached = generator.GenerateTokens(prompt, options).ToList();
            var uncached = generator.GenerateTokens(prompt, options with { UseKvCache = false }).ToList();
            Assert.Equal(20, cached.Count);
            Assert.Equal(uncached, cached);
        }
    }

    [Fact]
    public void Truncated_bptt_stops_the_gradient_at_the_chunk_boundary()
    {
        // Untied, so the first token's embedding row is reached only through the recurrence from position 0.
        var config = Config("lstm", tbptt: 4, tied: false);
        long[] tokens = { 1, 2, 3, 4, 5, 6, 7, 8 }; // token 1 appears only at position 0
        var idx = tensor(tokens, new long[] { 1, 8 });
        var targets = tensor(new long[] { 2, 3, 4, 5, 6, 7, 8, 9 }, new long[] { 1, 8 });

        Tensor FirstRowGradient(ModelConfig c, Func<LanguageModel, Tensor> loss)
        {
            manual_seed(9);
            using var model = LanguageModel.Create(c);
            model.train();
            loss(model).backward();
            var (_, embedding) = model.named_parameters().First(p => p.name == "wte.weight");
            return embedding.grad![1].clone();
        }

        var truncated = FirstRowGradient(config, m => m.Loss(idx, targets));
        // Only the first chunk's loss (weighted as in the mean over 8 tokens) can reach position 0.
        var firstChunk = FirstRowGradient(config with { Tbptt = 0 }, m => m.Loss(idx[.., ..4], targets[.., ..4]) * 0.5);
        var full = FirstRowGradient(config with { Tbptt = 0 }, m => m.Loss(idx, targets));
        Assert.True(truncated.allclose(firstChunk, rtol: 1e-4, atol: 1e-7));
        Assert.False(truncated.allclose(full, rtol: 1e-3, atol: 1e-6));
    }

    [Fact]
    public void Truncated_bptt_changes_the_gradient_but_not_the_loss_value()
    {
        manual_seed(7);
        var idx = randint(0, 20, new long[] { 3, 12 });
        var targets = randint(0, 20, new long[] { 3, 12 });
        double Loss(int tbptt)
        {
            manual_seed(2);
            using var model = LanguageModel.Create(Config("gru", tbptt));
            model.train();
            return model.Loss(idx, targets).item<float>();
        }
        Assert.Equal(Loss(0), Loss(5), 5); // the state flows across chunks; only its gradient is cut
    }

    [Theory]
    [InlineData("lstm", 0)]
    [InlineData("gru", 4)]
    public void Pretrain_trains_a_recurrent_model_and_its_checkpoint_round_trips(string type, int tbptt)
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var baseConfig = TinyRuns.Config(maxIters: 100, evalInterval: 50);
        var config = baseConfig with
        {
            Model = new ModelConfig { Type = type, Tbptt = tbptt, BlockSize = 16, NLayer = 1, NEmbd = 32 },
            Training = baseConfig.Training with { LearningRate = 1e-2, MinLr = 1e-3 },
        };
        var summary = new Trainer(config, data, dir.File("run")).Run(resume: false);
        var (_, evals) = MetricsLog.Read(dir.File("run"));
        Assert.True(summary.FinalTrainLoss < evals[0].TrainLoss * 0.7, $"{evals[0].TrainLoss} → {summary.FinalTrainLoss}");

        var (loaded, manifest) = Checkpoint.LoadModel(dir.File("run"), CPU);
        Assert.Equal(type, manifest.Model.Type);
        Assert.Equal(tbptt, loaded.Config.Tbptt);
        Assert.IsType<RecurrentLanguageModel>(loaded);
        using var again = Checkpoint.LoadModel(dir.File("run"), CPU).Model;
        var ids = tensor(new long[] { 1, 2, 3, 4 }, new long[] { 1, 4 });
        using var _ = no_grad();
        loaded.eval();
        again.eval();
        Assert.True(loaded.forward(ids).Equals(again.forward(ids)));
    }

    [Fact]
    public void Contiguous_parameters_alias_the_recurrent_weights()
    {
        manual_seed(1);
        using var model = LanguageModel.Create(Config("lstm"));
        var (decay, noDecay) = WeightDecayGroups.Split(model);
        using var flat = ContiguousParameters.Create(model, new[] { decay, noDecay });
        var ids = tensor(new long[] { 1, 2, 3 }, new long[] { 1, 3 });
        model.Loss(ids, ids).backward();
        Assert.True(flat.Grad.abs().sum().item<float>() > 0); // autograd wrote into the flat gradient buffer
        using (no_grad()) flat.Data.zero_();
        using var _ = no_grad();
        Assert.Equal(0f, model.forward(ids).abs().max().item<float>()); // the LSTM computes from the flat buffer
    }

    [Fact]
    public void Tbptt_is_refused_for_a_transformer_and_an_unknown_type_is_named()
    {
        var e = Assert.Throws<InvalidInputException>(() => new ModelConfig { Tbptt = 8 }.Validate());
        Assert.Contains("tbptt", e.Message);
        e = Assert.Throws<InvalidInputException>(() => new ModelConfig { Type = "mamba" }.Validate());
        Assert.Contains("type 'mamba'", e.Message);
        e = Assert.Throws<InvalidInputException>(() => LanguageModel.Create(new ModelConfig { Type = "ngram" }));
        Assert.Contains("count-based", e.Message);
    }
}
