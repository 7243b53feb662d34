using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Modeling;

/// <summary>Every component a <see cref="ModelConfig"/> field can select, on the tiny model (2 layers, 2 heads, 32 dims, context 16).</summary>
public class ComponentTests
{
    static readonly Dictionary<string, ModelConfig> Variants = new()
    {
        ["layernorm-pre"] = TinyRuns.Model(),
        ["layernorm-post"] = TinyRuns.Model() with { NormPlacement = "post" },
        ["layernorm-sandwich"] = TinyRuns.Model() with { NormPlacement = "sandwich" },
        ["rmsnorm-pre"] = TinyRuns.Model() with { Norm = "rmsnorm" },
        ["rmsnorm-post"] = TinyRuns.Model() with { Norm = "rmsnorm", NormPlacement = "post" },
        ["rmsnorm-sandwich"] = TinyRuns.Model() with { Norm = "rmsnorm", NormPlacement = "sandwich" },
        ["deepnorm-post"] = TinyRuns.Model() with { Norm = "deepnorm", NormPlacement = "post" },
        ["relu"] = TinyRuns.Model() with { Activation = "relu" },
        ["gelu-tanh"] = TinyRuns.Model() with { Activation = "gelu_tanh" },
        ["swish"] = TinyRuns.Model() with { Activation = "swish" },
        ["silu"] = TinyRuns.Model() with { Activation = "silu" },
        ["swiglu"] = TinyRuns.Model() with { Activation = "swiglu" },
        ["geglu"] = TinyRuns.Model() with { Activation = "geglu" },
        ["sinusoidal"] = TinyRuns.Model() with { PositionEncoding = "sinusoidal" },
        ["rope"] = TinyRuns.Model() with { PositionEncoding = "rope" },
        ["alibi"] = TinyRuns.Model() with { PositionEncoding = "alibi" },
        ["t5"] = TinyRuns.Model() with { PositionEncoding = "t5", RelativeBuckets = 8, RelativeMaxDistance = 12 },
        ["gqa"] = TinyRuns.Model() with { NHead = 4, NKvHead = 2 },
        ["mqa"] = TinyRuns.Model() with { NHead = 4, NKvHead = 1 },
        ["window"] = TinyRuns.Model() with { SlidingWindow = 4 },
        ["window-rope-gqa"] = TinyRuns.Model() with { SlidingWindow = 4, PositionEncoding = "rope", NHead = 4, NKvHead = 2 },
        ["window-alibi"] = TinyRuns.Model() with { SlidingWindow = 4, PositionEncoding = "alibi" },
        ["no-bias-untied"] = TinyRuns.Model() with { Bias = false, TieEmbeddings = false, Norm = "rmsnorm", Activation = "geglu", PositionEncoding = "t5" },
        ["llama"] = TinyRuns.Model() with { Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", Bias = false, NHead = 4, NKvHead = 2, TieEmbeddings = false },
        ["token-shift"] = TinyRuns.Model() with { TokenShift = 2 },
        ["token-shift-rope"] = TinyRuns.Model() with { TokenShift = 2, PositionEncoding = "rope" },
    };

    public static TheoryData<string> AllVariants() => new(Variants.Keys);

    public static TheoryData<string> PositionVariants() =>
        new("layernorm-pre", "sinusoidal", "rope", "alibi", "t5", "gqa", "mqa", "window", "window-rope-gqa", "window-alibi", "token-shift-rope");

    static Gpt NewModel(ModelConfig config, int seed = 0)
    {
        torch.manual_seed(seed);
        var model = new Gpt(config);
        model.eval();
        ShiftWeightsAwayFromZero(model);
        return model;
    }

    /// <summary>A token shift starts at zero (the plain Transformer): give it weights, so the tests see it work.</summary>
    internal static void ShiftWeightsAwayFromZero(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.StartsWith("token_shift.", StringComparison.Ordinal)) p.uniform_(0.5, 1.5);
    }

    [Fact]
    public void Token_shift_starts_at_zero_so_a_new_model_is_the_plain_transformer()
    {
        torch.manual_seed(0);
        var plain = new Gpt(TinyRuns.Model());
        torch.manual_seed(0);
        var shifted = new Gpt(TinyRuns.Model() with { TokenShift = 2 });
        Assert.Equal(plain.ParameterCount + 2 * TinyRuns.Model().NEmbd, shifted.ParameterCount);
        using var _ = no_grad();
        shifted.load_state_dict(plain.state_dict(), strict: false);
        var ids = randint(0, 32, new long[] { 2, 16 });
        Assert.True(plain.forward(ids).Equals(shifted.forward(ids)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void With_token_shift_each_embedding_sees_exactly_the_tokens_its_taps_reach_back_to(int taps)
    {
        // With attention switched off (zero output projections) and a single layer, a plain model's logits at
        // position t depend on token t alone; with k taps they depend on tokens t−k … t as well, and on nothing earlier.
        var model = NewModel(TinyRuns.Model() with { NLayer = 1, TokenShift = taps });
        using var _ = no_grad();
        foreach (var block in model.Blocks) block.Attention.OutputProjection.weight!.zero_();
        var ids = randint(0, 32, new long[] { 1, 16 });
        var changed = ids.clone();
        changed[0, 6] = (changed[0, 6] + 1) % 32;
        var before = model.forward(ids);
        var after = model.forward(changed);
        Assert.True(before[0, ..6].Equals(after[0, ..6]));
        for (int t = 7; t < 16; t++)
            Assert.Equal(t <= 6 + taps, !before[0, t].allclose(after[0, t], rtol: 0, atol: 1e-6));
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void Every_variant_builds_and_gives_logits_of_the_right_shape(string variant)
    {
        var model = NewModel(Variants[variant]);
        using var _ = no_grad();
        var logits = model.forward(randint(0, 32, new long[] { 3, 16 }));
        Assert.Equal(new long[] { 3, 16, 32 }, logits.shape);
        Assert.False(logits.isnan().any().item<bool>());
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void Thirty_AdamW_steps_on_the_tiny_corpus_reduce_the_loss(string variant)
    {
        var model = NewModel(Variants[variant]);
        model.train();
        var chars = TinyRuns.Corpus.Distinct().OrderBy(c => c).ToList();
        long[] ids = string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 4)).Select(c => (long)chars.IndexOf(c)).ToArray();
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-2);
        var rng = new Random(1);
        var losses = new List<float>();
        for (int step = 0; step < 30; step++)
        {
            using var scope = NewDisposeScope();
            var starts = Enumerable.Range(0, 8).Select(_ => rng.Next(ids.Length - 17)).ToArray();
            var x = tensor(starts.SelectMany(s => ids[s..(s + 16)]).ToArray(), new long[] { 8, 16 });
            var y = tensor(starts.SelectMany(s => ids[(s + 1)..(s + 17)]).ToArray(), new long[] { 8, 16 });
            optimizer.zero_grad();
            var loss = model.Loss(x, y);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.True(losses.TakeLast(5).Average() < 0.85 * losses.Take(3).Average(), $"{variant}: loss {losses[0]:F3} → {losses[^1]:F3}");
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void The_trainers_contiguous_parameter_buffer_takes_every_variant(string variant)
    {
        var model = NewModel(Variants[variant]);
        var (decay, noDecay) = WeightDecayGroups.Split(model);
        using var parameters = ContiguousParameters.Create(model, new[] { decay, noDecay });
        Assert.Equal(model.ParameterCount, parameters.Count); // the buffer also holds alignment zeros between groups
        var ids = randint(0, 32, new long[] { 2, 16 });
        model.Loss(ids, ids).backward();
        Assert.True(parameters.Grad.abs().sum().item<float>() > 0);
        using (no_grad()) parameters.Data.zero_();
        Assert.All(model.parameters(), p => Assert.Equal(0f, p.abs().max().item<float>()));   // parameters are views of the buffer
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void Cached_logits_equal_full_forward_logits(string variant)
    {
        var model = NewModel(Variants[variant]);
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 2, 16 });
        var full = model.forward(ids);
        using var cache = new KvCache(model.Config, 2, CPU, ScalarType.Float32);
        var pieces = new List<Tensor> { model.Forward(ids[.., ..5], cache), model.Forward(ids[.., 5..9], cache) };
        for (int t = 9; t < 16; t++) pieces.Add(model.Forward(ids[.., t..(t + 1)], cache));
        var cached = cat(pieces, 1);
        Assert.True(full.allclose(cached, rtol: 0, atol: 1e-4), $"{variant}: max difference {(full - cached).abs().max().item<float>()}");
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void Cached_and_uncached_generation_produce_identical_tokens_past_the_context(string variant)
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        var model = NewModel(Variants[variant] with { VocabSize = tokenizer.VocabSize }, seed: 3);
        var generator = new SharpLM.Inference.Generator(model, tokenizer, CPU);
        var options = new SamplingOptions { MaxNewTokens = 30, Temperature = 1.0, Seed = 11 };
        var prompt = tokenizer.Encode("the quick");
        var cached = generator.GenerateTokens(prompt, options).ToList();
        Assert.Equal(30, cached.Count); // 9 + 30 > block_size 16: the window slides and the cache is rebuilt
        Assert.Equal(generator.GenerateTokens(prompt, options with { UseKvCache = false }).ToList(), cached);
    }

    [Theory]
    [MemberData(nameof(PositionVariants))]
    public void Changing_a_later_token_never_changes_earlier_logits(string variant)
    {
        var model = NewModel(Variants[variant]);
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 2, 16 });
        var before = model.forward(ids);
        for (int t = 1; t < 16; t += 3)
        {
            var changed = ids.clone();
            changed[.., t] = (changed[.., t] + 1) % 32;
            var after = model.forward(changed);
            Assert.True(before[.., ..t].allclose(after[.., ..t], rtol: 0, atol: 1e-6), $"{variant}: logits before position {t} changed");
            Assert.False(before[.., t].allclose(after[.., t], rtol: 0, atol: 1e-6), $"{variant}: position {t} ignored its own token");
        }
    }

    [Theory]
    [InlineData("learned")]
    [InlineData("rope")]
    [InlineData("alibi")]
    public void Sliding_window_hides_tokens_more_than_W_positions_back(string positions)
    {
        // One layer: with more, information travels W−1 positions further per layer.
        const int window = 4;
        var model = NewModel(TinyRuns.Model() with { NLayer = 1, SlidingWindow = window, PositionEncoding = positions });
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 1, 16 });
        var before = model.forward(ids);
        const int query = 12;
        for (int back = 1; back <= 8; back++)
        {
            var changed = ids.clone();
            changed[0, query - back] = (changed[0, query - back] + 1) % 32;
            bool same = before[0, query].allclose(model.forward(changed)[0, query], rtol: 0, atol: 1e-6);
            Assert.True(same == back >= window, $"token {back} back {(same ? "had no" : "had an")} effect with window {window}");
        }
    }

    [Fact]
    public void Grouped_and_multi_query_attention_shrink_only_the_key_value_projection()
    {
        var config = TinyRuns.Model() with { NHead = 4 };
        long mha = NewModel(config).ParameterCount;
        long gqa = NewModel(config with { NKvHead = 2 }).ParameterCount;
        long mqa = NewModel(config with { NKvHead = 1 }).ParameterCount;
        // Per layer, K and V each lose (n_head − n_kv_head) · head_dim output rows of n_embd weights plus a bias.
        long Saved(int kv) => 2 * 2 * (4 - kv) * 8 * (32 + 1);
        Assert.Equal(mha - Saved(2), gqa);
        Assert.Equal(mha - Saved(1), mqa);
        using var cache = new KvCache(config with { NKvHead = 2 }, 1, CPU, ScalarType.Float32);
        var model = NewModel(config with { NKvHead = 2 });
        using var _ = no_grad();
        model.Forward(zeros(1, 3, dtype: ScalarType.Int64), cache);
        Assert.Equal(3, cache.Length);
    }

    [Theory]
    [InlineData(1)] // multi-query
    [InlineData(2)] // grouped-query
    [InlineData(4)] // n_kv_head = n_head: multi-head
    public void Grouped_query_attention_is_multi_head_attention_with_each_key_value_head_shared_by_its_group(int kvHeads)
    {
        // Equal weights: the MHA model's K and V heads are copies of the grouped model's, repeated over each group.
        var config = TinyRuns.Model() with { NHead = 4 };
        var grouped = NewModel(config with { NKvHead = kvHeads }, seed: 3);
        var mha = NewModel(config, seed: 4);
        int c = config.NEmbd, hd = config.HeadDim, group = 4 / kvHeads;
        using (no_grad())
        {
            var source = grouped.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in mha.named_parameters())
            {
                var g = source[name];
                if (!name.EndsWith("attn.c_attn.weight") && !name.EndsWith("attn.c_attn.bias")) { p.copy_(g); continue; }
                Tensor Heads(long offset) => g.narrow(0, offset, kvHeads * hd).unflatten(0, new long[] { kvHeads, hd })
                    .repeat_interleave(group, dim: 0).flatten(0, 1);
                p.copy_(cat(new[] { g.narrow(0, 0, c), Heads(c), Heads(c + kvHeads * hd) }, 0));
            }
        }
        var ids = torch.tensor(new long[] { 1, 5, 2, 9, 3, 7, 0, 4 }, new long[] { 1, 8 });
        using var _ = no_grad();
        Assert.True(grouped.forward(ids).allclose(mha.forward(ids), rtol: 1e-5, atol: 1e-6));
        if (kvHeads == 4) Assert.True(grouped.forward(ids).Equals(mha.forward(ids))); // the same model, bit for bit
    }

    [Fact]
    public void Rope_scores_depend_only_on_the_relative_offset()
    {
        torch.manual_seed(0);
        var q = randn(1, 1, 1, 16);
        var k = randn(1, 1, 1, 16);
        var config = new ModelConfig { NEmbd = 16, NHead = 1, PositionEncoding = "rope" };
        float Score(long qPos, long kPos)
        {
            var (qc, qs) = RotaryEmbedding.Angles(qPos, 1, config, CPU);
            var (kc, ks) = RotaryEmbedding.Angles(kPos, 1, config, CPU);
            return (RotaryEmbedding.Apply(q, qc, qs) * RotaryEmbedding.Apply(k, kc, ks)).sum().item<float>();
        }
        float reference = Score(7, 3);
        foreach (long shift in new long[] { 1, 5, 40, 1000 }) Assert.Equal(reference, Score(7 + shift, 3 + shift), 4);
        Assert.NotEqual(reference, Score(8, 3), 3);
        // A rotation keeps the vector's length.
        var (c, s) = RotaryEmbedding.Angles(0, 10, config, CPU);
        var x = randn(1, 1, 10, 16);
        Assert.True(x.square().sum(-1).allclose(RotaryEmbedding.Apply(x, c, s).square().sum(-1), rtol: 1e-5));
    }

    [Fact]
    public void Alibi_slopes_for_8_heads_are_two_to_the_minus_1_to_8()
    {
        Assert.Equal(Enumerable.Range(1, 8).Select(i => Math.Pow(2, -i)), AlibiBias.Slopes(8));
        // 6 heads: the 4-head slopes 2^-2, 2^-4, 2^-6, 2^-8, then every other 8-head slope: 2^-1, 2^-3.
        Assert.Equal(new[] { 0.25, 1.0 / 16, 1.0 / 64, 1.0 / 256, 0.5, 0.125 }, AlibiBias.Slopes(6));
        var bias = AlibiBias.Bias(8, 2, 1, CPU);   // query at position 2 over keys 0, 1, 2
        Assert.Equal(new long[] { 1, 8, 1, 3 }, bias.shape);
        Assert.Equal(-1.0f, bias[0, 0, 0, 0].item<float>()); // head 1: slope 1/2, distance 2
        Assert.Equal(0f, bias[0, 7, 0, 2].item<float>());
    }

    [Fact]
    public void T5_buckets_are_exact_near_and_logarithmic_far_and_causal()
    {
        var distance = tensor(new long[] { -3, 0, 1, 15, 16, 31, 64, 127, 128, 1000 });
        var buckets = RelativePositionBias.Bucket(distance, 32, 128).data<long>().ToArray();
        Assert.Equal(new long[] { 0, 0, 1, 15, 16, 21, 26, 31, 31, 31 }, buckets);
    }

    [Fact]
    public void T5_bias_is_one_table_shared_by_all_layers()
    {
        var model = NewModel(TinyRuns.Model() with { PositionEncoding = "t5" });
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(new[] { "relative_bias.relative_attention_bias.weight" }, names.Where(n => n.Contains("relative")));
        Assert.DoesNotContain(names, n => n.StartsWith("wpe"));
        Assert.Equal(new long[] { 32, 2 }, model.named_parameters().First(p => p.name.Contains("relative")).parameter.shape);
    }

    [Theory]
    [InlineData("sinusoidal")]
    [InlineData("rope")]
    [InlineData("alibi")]
    public void Only_learned_positions_have_a_position_table(string positions) =>
        Assert.DoesNotContain(NewModel(TinyRuns.Model() with { PositionEncoding = positions }).named_parameters(), p => p.name.StartsWith("wpe"));

    [Fact]
    public void Glu_hidden_size_is_two_thirds_of_the_mlp_rounded_up_to_a_multiple_of_8()
    {
        Assert.Equal(88, GluMlp.RatioHiddenSize(TinyRuns.Model()));                                  // 2/3 · 128 = 85.3
        Assert.Equal(344, GluMlp.RatioHiddenSize(TinyRuns.Model() with { NEmbd = 128 }));            // 2/3 · 512 = 341.3
        Assert.Equal(1024, GluMlp.RatioHiddenSize(TinyRuns.Model() with { NEmbd = 384 }));           // exactly 1024
        var plain = NewModel(TinyRuns.Model()).ParameterCount;
        var gated = NewModel(TinyRuns.Model() with { Activation = "swiglu" }).ParameterCount;
        Assert.InRange((double)gated / plain, 0.95, 1.1);
    }

    [Fact]
    public void Rmsnorm_divides_by_the_root_mean_square_and_has_no_bias()
    {
        var norm = new RmsNorm(4, 1e-6);
        Assert.Equal(new[] { "weight" }, norm.named_parameters().Select(p => p.name));
        var y = norm.forward(tensor(new float[] { 1, -1, 3, -3 }));               // rms = √5
        Assert.True(y.allclose(tensor(new float[] { 1, -1, 3, -3 }) / MathF.Sqrt(5), rtol: 1e-5));
    }

    [Fact]
    public void Deepnorm_scales_value_output_and_mlp_initialisation_by_beta()
    {
        torch.manual_seed(0);
        var model = new Gpt(TinyRuns.Model() with { NEmbd = 128, NLayer = 8, NHead = 4, Norm = "deepnorm", NormPlacement = "post" });
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double beta = Math.Pow(8 * 8, -0.25);
        Assert.Equal((Math.Pow(16, 0.25), beta), Norms.DeepNormConstants(8));
        Assert.InRange(named["h.1.attn.c_attn.weight"].narrow(0, 0, 256).std().item<float>(), 0.019, 0.021);       // q, k
        Assert.InRange(named["h.1.attn.c_attn.weight"].narrow(0, 256, 128).std().item<float>(), 0.02 * beta * 0.9, 0.02 * beta * 1.1);
        foreach (var name in new[] { "h.1.attn.c_proj.weight", "h.1.mlp.c_fc.weight", "h.1.mlp.c_proj.weight" })
            Assert.InRange(named[name].std().item<float>(), 0.02 * beta * 0.9, 0.02 * beta * 1.1);
        Assert.DoesNotContain(named.Keys, n => n.StartsWith("ln_f"));      // post-norm blocks end normalised
    }

    [Fact]
    public void Sandwich_blocks_have_a_norm_before_and_after_each_sublayer()
    {
        var names = NewModel(TinyRuns.Model() with { NormPlacement = "sandwich" }).named_parameters().Select(p => p.name).ToList();
        foreach (var norm in new[] { "ln_1", "ln_1_post", "ln_2", "ln_2_post" }) Assert.Contains($"h.0.{norm}.weight", names);
        Assert.Contains("ln_f.weight", names);
    }

    [Theory]
    [InlineData("norm", "{\"norm\": \"batchnorm\"}")]
    [InlineData("norm_placement", "{\"norm_placement\": \"middle\"}")]
    [InlineData("norm_placement", "{\"norm\": \"deepnorm\"}")]
    [InlineData("norm_placement", "{\"norm\": \"deepnorm\", \"norm_placement\": \"sandwich\"}")]
    [InlineData("activation", "{\"activation\": \"tanh\"}")]
    [InlineData("position_encoding", "{\"position_encoding\": \"xpos\"}")]
    [InlineData("n_kv_head", "{\"n_head\": 4, \"n_kv_head\": 3}")]
    [InlineData("n_kv_head", "{\"n_kv_head\": -1}")]
    [InlineData("sliding_window", "{\"sliding_window\": -2}")]
    [InlineData("n_embd", "{\"n_embd\": 24, \"n_head\": 8, \"position_encoding\": \"rope\"}")]
    [InlineData("n_embd", "{\"n_embd\": 3, \"n_head\": 1, \"position_encoding\": \"sinusoidal\"}")]
    [InlineData("rope_base", "{\"rope_base\": 0}")]
    [InlineData("token_shift", "{\"type\": \"gru\", \"token_shift\": 1}")]
    [InlineData("token_shift", "{\"architecture\": \"encoder_decoder\", \"token_shift\": 2}")]
    [InlineData("token_shift", "{\"token_shift\": 9}")]
    [InlineData("relative_buckets", "{\"relative_buckets\": 1}")]
    [InlineData("relative_max_distance", "{\"relative_buckets\": 32, \"relative_max_distance\": 16}")]
    public void Bad_values_and_combinations_are_refused_naming_the_field(string field, string json)
    {
        var config = System.Text.Json.JsonSerializer.Deserialize<ModelConfig>(json, Json.Options)!;
        var e = Assert.Throws<InvalidInputException>(() => config.Validate());
        Assert.StartsWith($"model config: {field} ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_config_written_before_these_fields_existed_keeps_its_meaning()
    {
        const string old = "{\"architecture\": \"causal_decoder\", \"vocab_size\": 65, \"block_size\": 64, \"n_layer\": 4, \"n_head\": 4, "
            + "\"n_kv_head\": 0, \"n_embd\": 128, \"mlp_ratio\": 4, \"dropout\": 0, \"bias\": true, \"tie_embeddings\": true, "
            + "\"norm\": \"layernorm\", \"norm_eps\": 1e-05, \"activation\": \"gelu\", \"position_encoding\": \"learned\", \"init_std\": 0.02}";
        var config = System.Text.Json.JsonSerializer.Deserialize<ModelConfig>(old, Json.Options)!;
        Assert.Equal(new ModelConfig(), config);
        Assert.Equal(("pre", 0, 10000.0, 32, 128), (config.NormPlacement, config.SlidingWindow, config.RopeBase, config.RelativeBuckets, config.RelativeMaxDistance));
    }

    [Fact]
    public void Gpt2_and_llama_style_presets_load_validate_and_build()
    {
        Assert.Contains("gpt2-style", PretrainConfig.PresetNames());
        Assert.Contains("llama-style", PretrainConfig.PresetNames());
        var gpt2 = PretrainConfig.Preset("gpt2-style").Model;
        Assert.Equal(("layernorm", "pre", "gelu", "learned", true, 0), (gpt2.Norm, gpt2.NormPlacement, gpt2.Activation, gpt2.PositionEncoding, gpt2.Bias, gpt2.NKvHead));
        var llama = PretrainConfig.Preset("llama-style").Model;
        Assert.Equal(("rmsnorm", "pre", "swiglu", "rope", false, 2), (llama.Norm, llama.NormPlacement, llama.Activation, llama.PositionEncoding, llama.Bias, llama.NKvHead));
        var model = new Gpt(llama with { VocabSize = 65 });
        Assert.DoesNotContain(model.named_parameters(), p => p.name.EndsWith(".bias") || p.name.StartsWith("wpe"));
    }
}
