using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Modeling;

public class GptTests
{
    static Gpt NewModel(int seed = 0, bool tie = true)
    {
        torch.manual_seed(seed);
        var model = new Gpt(TinyRuns.Model() with { TieEmbeddings = tie });
        model.eval();
        return model;
    }

    [Fact]
    public void Changing_a_future_token_never_changes_earlier_logits()
    {
        var model = NewModel();
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 2, 16 });
        var before = model.forward(ids);
        for (int t = 1; t < 16; t += 4)
        {
            var changed = ids.clone();
            changed[.., t] = (changed[.., t] + 1) % 32;
            var after = model.forward(changed);
            Assert.True(before[.., ..t].allclose(after[.., ..t], rtol: 0, atol: 1e-6), $"logits before position {t} changed");
            Assert.False(before[.., t].allclose(after[.., t], rtol: 0, atol: 1e-6), $"position {t} ignored its own token");
        }
    }

    [Fact]
    public void Cached_forward_matches_full_forward_position_by_position()
    {
        var model = NewModel();
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 1, 12 });
        var full = model.forward(ids);
        using var cache = new KvCache(model.Config, 1, CPU, ScalarType.Float32);
        var prefix = model.Forward(ids[.., ..5], cache);           // several tokens into an empty cache
        var middle = model.Forward(ids[.., 5..8], cache);           // several tokens after a cached prefix
        var pieces = new List<Tensor> { prefix, middle };
        for (int t = 8; t < 12; t++) pieces.Add(model.Forward(ids[.., t..(t + 1)], cache)); // one at a time
        Assert.Equal(12, cache.Length);
        Assert.True(full.allclose(cat(pieces, 1), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Gpt2_initialisation_scales_residual_projections()
    {
        torch.manual_seed(0);
        var config = TinyRuns.Model() with { NEmbd = 128, NLayer = 8, NHead = 4 };
        var model = new Gpt(config);
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double Std(string name) => named[name].std().item<float>();
        Assert.InRange(Std("wte.weight"), 0.018, 0.022);
        Assert.InRange(Std("h.0.attn.c_attn.weight"), 0.019, 0.021);
        double residual = 0.02 / Math.Sqrt(2 * 8);
        Assert.InRange(Std("h.3.attn.c_proj.weight"), residual * 0.9, residual * 1.1);
        Assert.InRange(Std("h.3.mlp.c_proj.weight"), residual * 0.9, residual * 1.1);
        Assert.Equal(0f, named["h.0.attn.c_attn.bias"].abs().max().item<float>());
    }

    [Fact]
    public void Tied_embeddings_have_no_separate_head_and_untied_ones_do()
    {
        var tied = NewModel(tie: true);
        var untied = NewModel(tie: false);
        Assert.DoesNotContain(tied.named_parameters(), p => p.name.StartsWith("lm_head"));
        Assert.Contains(untied.named_parameters(), p => p.name == "lm_head.weight");
        Assert.Equal(tied.ParameterCount + 32 * 32, untied.ParameterCount);
    }

    [Fact]
    public void Invalid_config_names_the_field()
    {
        var e = Assert.Throws<InvalidInputException>(() => new Gpt(TinyRuns.Model() with { NEmbd = 30, NHead = 4 }));
        Assert.Contains("n_embd", e.Message);
        Assert.Contains("norm", Assert.Throws<InvalidInputException>(() => new Gpt(TinyRuns.Model() with { Norm = "batchnorm" })).Message);
    }

    [Fact]
    public void Sequences_longer_than_the_context_are_rejected()
    {
        var model = NewModel();
        Assert.Throws<ArgumentException>(() => model.forward(zeros(1, 17, dtype: ScalarType.Int64)));
    }
}
