using SharpLM.Adaptation.Peft;
using SharpLM.Modeling;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Peft;

/// <summary>Tiny bases, a few real AdamW steps on a fixed batch, and exact comparisons, for the PEFT tests.</summary>
internal static class PeftTestKit
{
    public const int Vocab = 32;

    /// <remarks>
    /// init_std 0.1 rather than GPT-2's 0.02: a random frozen base with 0.02 weights can only produce near-uniform
    /// logits, whatever a method adds before its final norm, so no method could lower the loss measurably.
    /// </remarks>
    public static ModelConfig Config(string position = "learned", int kvHeads = 0, string architecture = "causal_decoder") =>
        TinyRuns.Model(Vocab) with { PositionEncoding = position, NKvHead = kvHeads, Architecture = architecture, TieEmbeddings = false, InitStd = 0.1 };

    public static Gpt Base(int seed = 0, ModelConfig? config = null)
    {
        torch.manual_seed(seed);
        var model = (Gpt)LanguageModel.Create(config ?? Config());
        model.eval();
        return model;
    }

    /// <summary>A fixed batch: 4 rows of 13 tokens with a repeating pattern, so a little training lowers the loss.</summary>
    public static (Tensor X, Tensor Y) Batch(int length = 12)
    {
        var rows = new long[4, length + 1];
        for (int r = 0; r < 4; r++)
            for (int t = 0; t <= length; t++) rows[r, t] = (r * 3 + t * 5) % Vocab;
        Tensor all = tensor(rows);
        return (all[.., ..length].contiguous(), all[.., 1..].contiguous());
    }

    public static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    /// <summary>
    /// <paramref name="steps"/> AdamW steps of the trainer's own kind (contiguous buffers, FlatAdamW, weight-decay
    /// groups) on the method's parameters; returns the losses and the size of the optimizer's parameter buffer.
    /// </summary>
    public static (List<float> Losses, long OptimizedElements) Train(PeftMethod method, int steps = 10, double lr = 3e-2)
    {
        var model = method.Model;
        model.train();
        var (decay, noDecay) = WeightDecayGroups.Split(model);
        var parameters = ContiguousParameters.Create(model, new[] { decay, noDecay });
        var optimizer = new FlatAdamW(parameters, new[] { 0.1, 0.0 }, 0.9, 0.99, 1e-8) { LearningRate = lr };
        var (x, y) = Batch();
        var losses = new List<float>();
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            parameters.ZeroGrad();
            Tensor loss = model.Loss(x, y);
            losses.Add(loss.item<float>());
            loss.backward();
            optimizer.Step();
        }
        model.eval();
        return (losses, parameters.Count);
    }

    public static void AssertBitIdentical(Dictionary<string, Tensor> expected, nn.Module model, string what)
    {
        var live = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, value) in expected)
            Assert.True(value.Equals(live[name].detach()), $"{what}: {name} changed");
    }

    public static double MaxAbsDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    public static Tensor Logits(Gpt model, Tensor idx)
    {
        using var _ = no_grad();
        return model.forward(idx);
    }

    /// <summary>
    /// Greedy decoding through the model's cache, each step checked against the uncached logits of the same
    /// tokens; returns the largest difference seen.
    /// </summary>
    public static double CachedVersusUncached(LanguageModel model, long[] prompt, int steps)
    {
        using var _ = no_grad();
        model.eval();
        using var state = model.NewDecodingState(1, CPU);
        Tensor p = tensor(prompt, new long[] { 1, prompt.Length });
        var generated = new List<long>();
        Tensor cached = model.Decode(p, state)[.., -1];
        double worst = 0;
        for (int i = 0; i < steps; i++)
        {
            Tensor g = tensor(generated.ToArray(), new long[] { 1, generated.Count });
            Tensor uncached = model.NextTokenLogits(p, g);
            worst = Math.Max(worst, MaxAbsDiff(cached, uncached));
            long next = cached.argmax(-1).item<long>();
            generated.Add(next);
            cached = model.Decode(tensor(new[] { next }, new long[] { 1, 1 }), state)[.., -1];
        }
        return worst;
    }
}
