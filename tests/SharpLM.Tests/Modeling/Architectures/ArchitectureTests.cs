using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Modeling.Architectures;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Modeling.Architectures;

/// <summary>Causal decoder, prefix decoder and encoder-decoder on the tiny model, with every position encoding.</summary>
public class ArchitectureTests
{
    static readonly string[] ArchitectureNames = { "causal_decoder", "prefix_decoder", "encoder_decoder" };
    static readonly string[] PositionNames = { "learned", "sinusoidal", "rope", "alibi", "t5" };

    public static TheoryData<string, string> Combinations()
    {
        var data = new TheoryData<string, string>();
        foreach (var a in ArchitectureNames) foreach (var p in PositionNames) data.Add(a, p);
        return data;
    }

    public static TheoryData<string> Positions() => new(PositionNames);

    static ModelConfig Config(string architecture, string positions, int vocab = 32) => TinyRuns.Model(vocab) with
    {
        Architecture = architecture, PositionEncoding = positions, RelativeBuckets = 8, RelativeMaxDistance = 12,
    };

    static LanguageModel NewModel(string architecture, string positions, int seed = 0, int vocab = 32)
    {
        torch.manual_seed(seed);
        var model = LanguageModel.Create(Config(architecture, positions, vocab));
        model.eval();
        return model;
    }

    static bool Same(Tensor a, Tensor b, double atol = 1e-6) => a.allclose(b, rtol: 0, atol: atol);

    [Fact]
    public void Create_builds_the_class_the_architecture_names()
    {
        Assert.IsType<Gpt>(NewModel("causal_decoder", "learned"));
        Assert.IsType<PrefixDecoder>(NewModel("prefix_decoder", "learned"));
        Assert.IsType<EncoderDecoder>(NewModel("encoder_decoder", "learned"));
    }

    [Theory]
    [MemberData(nameof(Positions))]
    public void Causal_decoder_changing_a_later_token_never_changes_earlier_logits(string positions)
    {
        var model = NewModel("causal_decoder", positions);
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 2, 12 });
        var before = model.forward(ids);
        foreach (int t in new[] { 1, 3, 6, 11 })
        {
            var changed = ids.clone();
            changed[.., t] = (changed[.., t] + 1) % 32;
            var after = model.forward(changed);
            Assert.True(Same(before[.., ..t], after[.., ..t]), $"position < {t} changed");
            Assert.False(Same(before[.., t], after[.., t]), $"position {t} ignored its token");
        }
    }

    [Theory]
    [MemberData(nameof(Positions))]
    public void Prefix_decoder_targets_are_causal_but_the_prefix_sees_both_ways(string positions)
    {
        const int prefix = 5;
        var model = (PrefixDecoder)NewModel("prefix_decoder", positions);
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 2, 12 });
        var before = model.Forward(ids, prefix);
        foreach (int t in new[] { prefix, 7, 11 })
        {
            var changed = ids.clone();
            changed[.., t] = (changed[.., t] + 1) % 32;
            var after = model.Forward(changed, prefix);
            Assert.True(Same(before[.., ..t], after[.., ..t]), $"a target token at {t} changed earlier logits");
            Assert.False(Same(before[.., t], after[.., t]), $"position {t} ignored its token");
        }
        // A prefix token reaches every position, including earlier prefix positions …
        var prefixChanged = ids.clone();
        prefixChanged[.., 3] = (prefixChanged[.., 3] + 1) % 32;
        var afterPrefix = model.Forward(prefixChanged, prefix);
        for (int t = 0; t < 12; t++) Assert.False(Same(before[.., t], afterPrefix[.., t]), $"position {t} did not see prefix token 3");
        // … which a causal pass (prefix 0, forward) never allows.
        Assert.True(Same(model.forward(ids)[.., ..3], model.forward(prefixChanged)[.., ..3]));
    }

    [Theory]
    [MemberData(nameof(Positions))]
    public void Encoder_decoder_encoder_tokens_reach_every_decoder_position_and_decoder_tokens_only_later_ones(string positions)
    {
        var model = (EncoderDecoder)NewModel("encoder_decoder", positions);
        using var _ = no_grad();
        var enc = randint(0, 32, new long[] { 2, 9 });
        var dec = randint(0, 32, new long[] { 2, 10 });
        var before = model.Forward(enc, dec);
        var encChanged = enc.clone();
        encChanged[.., 8] = (encChanged[.., 8] + 1) % 32; // the last encoder token, so bidirectionality matters too
        var afterEnc = model.Forward(encChanged, dec);
        for (int t = 0; t < 10; t++) Assert.False(Same(before[.., t], afterEnc[.., t]), $"decoder position {t} did not see the encoder change");
        Assert.False(Same(model.Encode(enc)[.., 0], model.Encode(encChanged)[.., 0]), "the encoder's first position did not see its last token");
        foreach (int t in new[] { 1, 4, 9 })
        {
            var decChanged = dec.clone();
            decChanged[.., t] = (decChanged[.., t] + 1) % 32;
            var after = model.Forward(enc, decChanged);
            Assert.True(Same(before[.., ..t], after[.., ..t]), $"decoder token {t} changed earlier decoder positions");
            Assert.False(Same(before[.., t], after[.., t]), $"decoder position {t} ignored its token");
        }
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Decoding_in_pieces_equals_the_uncached_reference(string architecture, string positions)
    {
        var model = NewModel(architecture, positions);
        using var _ = no_grad();
        var ids = randint(0, 32, new long[] { 2, 13 });
        Tensor prompt = ids[.., ..5], generated = ids[.., 5..];
        using var state = model.NewDecodingState(2, CPU);
        var outputs = new List<Tensor> { model.Decode(prompt, state) };
        var fed = new List<int> { 0 };
        outputs.Add(model.Decode(generated[.., ..3], state)); fed.Add(3);
        for (int k = 3; k < 8; k++) { outputs.Add(model.Decode(generated[.., k..(k + 1)], state)); fed.Add(k + 1); }
        for (int i = 0; i < outputs.Count; i++)
        {
            Assert.Equal(32, outputs[i].shape[^1]);
            var reference = model.NextTokenLogits(prompt, generated[.., ..fed[i]]);
            Assert.Equal(32, reference.shape[^1]);
            var cached = outputs[i][.., -1];
            Assert.True(Same(reference, cached, 1e-5), $"{architecture}/{positions} after {fed[i]} generated: {(reference - cached).abs().max().item<float>()}");
        }
        // Every row of the cached outputs against one full pass (decoders return a row per prompt token too).
        var all = cat(outputs, 1);
        Tensor whole = model switch
        {
            PrefixDecoder p => p.Forward(ids, 5),
            EncoderDecoder e => e.Forward(cat(new[] { prompt, full(2, 1, 32L, dtype: ScalarType.Int64) }, 1),
                cat(new[] { full(2, 1, 32L, dtype: ScalarType.Int64), generated }, 1))[.., .., ..32],
            _ => model.forward(ids),
        };
        Assert.True(Same(whole, all, 1e-5), $"{architecture}/{positions}: {(whole - all).abs().max().item<float>()}");
        // With no prompt part, the generated part is what the first Decode call carries.
        using var fresh = model.NewDecodingState(2, CPU);
        Assert.True(Same(model.NextTokenLogits(generated[.., ..0], generated), model.Decode(generated, fresh)[.., -1], 1e-5));
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Cached_and_uncached_generation_give_the_same_tokens(string architecture, string positions)
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        var model = NewModel(architecture, positions, seed: 3, vocab: tokenizer.VocabSize);
        var generator = new SharpLM.Inference.Generator(model, tokenizer, CPU);
        var prompt = tokenizer.Encode("the quick brown fox jumps"); // 25 tokens: longer than the 16-token context
        foreach (var options in new[] { new SamplingOptions { MaxNewTokens = 30, Temperature = 0 }, new SamplingOptions { MaxNewTokens = 30, Temperature = 1.0, Seed = 11 } })
        {
            var cached = generator.GenerateTokens(prompt, options).ToList();
            // Decoders slide their window; the encoder-decoder stops when its decoder (start token + 15) is full:
            // the 16th token is predicted from the full decoder and there is no room to feed it.
            Assert.Equal(architecture == "encoder_decoder" ? 16 : 30, cached.Count);
            Assert.Equal(generator.GenerateTokens(prompt, options with { UseKvCache = false }).ToList(), cached);
        }
    }

    [Fact]
    public void Prefix_lm_loss_ignores_the_labels_of_prefix_positions()
    {
        var model = (PrefixDecoder)NewModel("prefix_decoder", "rope");
        using var _ = no_grad();
        var idx = randint(0, 32, new long[] { 4, 16 });
        var targets = randint(0, 32, new long[] { 4, 16 });
        float loss = model.Loss(idx, targets).item<float>();
        int[] prefixes = Enumerable.Range(0, 4).Select(r => PrefixDecoder.PrefixLength(idx[r].data<long>().ToArray())).ToArray();
        Assert.All(prefixes, p => Assert.InRange(p, 1, 15));
        Assert.True(prefixes.Distinct().Count() > 1, "every row got the same prefix length");
        Assert.Equal(prefixes, Enumerable.Range(0, 4).Select(r => PrefixDecoder.PrefixLength(idx[r].data<long>().ToArray())));
        var relabelled = targets.clone();
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < prefixes[r] - 1; j++) relabelled[r, j] = (relabelled[r, j] + 7) % 32;
        Assert.Equal(loss, model.Loss(idx, relabelled).item<float>());
        // A label from the first target on does count.
        var target = targets.clone();
        target[0, prefixes[0] - 1] = (target[0, prefixes[0] - 1] + 7) % 32;
        Assert.NotEqual(loss, model.Loss(idx, target).item<float>());
    }

    [Fact]
    public void Prefix_lm_loss_is_the_continuation_loss_at_each_rows_prefix()
    {
        var model = (PrefixDecoder)NewModel("prefix_decoder", "alibi");
        using var _ = no_grad();
        var idx = randint(0, 32, new long[] { 1, 16 });
        var targets = randint(0, 32, new long[] { 1, 16 });
        int p = PrefixDecoder.PrefixLength(idx[0].data<long>().ToArray());
        Assert.Equal(model.ContinuationLoss(idx, targets, p).item<float>(), model.Loss(idx, targets).item<float>(), 5);
    }

    [Theory]
    [InlineData("causal_decoder")]
    [InlineData("prefix_decoder")]
    [InlineData("encoder_decoder")]
    public void Continuation_loss_scores_the_same_target_tokens_as_the_next_token_logits(string architecture)
    {
        var model = NewModel(architecture, "learned");
        using var _ = no_grad();
        var window = randint(0, 32, new long[] { 2, 13 });
        Tensor idx = window[.., ..12], targets = window[.., 1..];
        const int p = 5;
        // From NextTokenLogits, one target at a time: −log softmax of token p+k after the prompt and k generated tokens.
        var terms = new List<Tensor>();
        for (int k = 0; k < 12 - p + 1; k++)
        {
            var logits = model.NextTokenLogits(idx[.., ..p], targets[.., (p - 1)..(p - 1 + k)]);
            terms.Add(-logits.log_softmax(-1).gather(1, targets[.., (p - 1 + k)..(p + k)]));
        }
        float expected = cat(terms, 1).mean().item<float>();
        Assert.Equal(expected, model.ContinuationLoss(idx, targets, p).item<float>(), 5);
    }

    [Fact]
    public void Encoder_decoder_logits_through_the_api_have_vocab_columns_but_the_objective_uses_sentinels()
    {
        var model = (EncoderDecoder)NewModel("encoder_decoder", "t5");
        Assert.Equal(1, model.Config.Sentinels);   // a 16-token window has 2 noise tokens in 1 span
        using var _ = no_grad();
        var idx = randint(0, 32, new long[] { 2, 16 });
        Assert.Equal(new long[] { 2, 16, 32 }, model.forward(idx).shape);
        Assert.Equal(new long[] { 33, 32 }, model.named_parameters().First(p => p.name == "wte.weight").parameter.shape);
        var loss = model.Loss(idx, idx).item<float>();
        Assert.InRange(loss, 0.5 * Math.Log(33), 2 * Math.Log(33));
        Assert.Equal(loss, model.Loss(idx, randint(0, 32, new long[] { 2, 16 })).item<float>()); // the window is its own target
        // forward is the continuation of the first token.
        Assert.True(Same(model.forward(idx)[.., -1], model.NextTokenLogits(idx[.., ..1], idx[.., 1..]), 1e-5));
    }

    [Fact]
    public void Encoder_decoder_window_keeps_the_last_prompt_tokens_and_stops_when_the_decoder_is_full()
    {
        var model = NewModel("encoder_decoder", "learned");
        Assert.Equal((0, 0), model.ContextWindow(5, 3));
        Assert.Equal((10, 0), model.ContextWindow(25, 3));     // 15 prompt tokens + sentinel 0 fill the encoder
        Assert.Equal((10, 0), model.ContextWindow(25, 15));
        Assert.Null(model.ContextWindow(25, 16));              // sentinel 0 + 16 generated > 16 decoder positions
    }

    [Theory]
    [InlineData("architecture", "{\"architecture\": \"decoder\"}")]
    [InlineData("architecture", "{\"architecture\": \"encoder_decoder\", \"type\": \"lstm\"}")]
    [InlineData("n_encoder_layer", "{\"n_encoder_layer\": 2}")]
    [InlineData("n_encoder_layer", "{\"architecture\": \"encoder_decoder\", \"n_encoder_layer\": -1}")]
    [InlineData("noise_density", "{\"architecture\": \"encoder_decoder\", \"noise_density\": 1}")]
    [InlineData("mean_noise_span_length", "{\"architecture\": \"encoder_decoder\", \"mean_noise_span_length\": 0.5}")]
    [InlineData("sentinel_tokens", "{\"architecture\": \"encoder_decoder\", \"block_size\": 64, \"sentinel_tokens\": 2}")]
    [InlineData("relative_buckets", "{\"architecture\": \"encoder_decoder\", \"position_encoding\": \"t5\", \"relative_buckets\": 2, \"relative_max_distance\": 8}")]
    public void Bad_architecture_fields_are_refused_naming_the_field(string field, string json)
    {
        var config = System.Text.Json.JsonSerializer.Deserialize<ModelConfig>(json, SharpLM.Runtime.Json.Options)!;
        var e = Assert.Throws<InvalidInputException>(() => config.Validate());
        Assert.StartsWith($"model config: {field} ", e.Message);
    }

    [Fact]
    public void Encoder_depth_defaults_to_n_layer_and_flops_count_both_stacks()
    {
        var two = (EncoderDecoder)LanguageModel.Create(TinyRuns.Model() with { Architecture = "encoder_decoder" });
        var four = (EncoderDecoder)LanguageModel.Create(TinyRuns.Model() with { Architecture = "encoder_decoder", NEncoderLayer = 4 });
        Assert.Equal(2, two.Config.EncoderLayers);
        Assert.Contains(two.named_parameters(), p => p.name.StartsWith("encoder.1."));
        Assert.DoesNotContain(two.named_parameters(), p => p.name.StartsWith("encoder.2."));
        Assert.Contains(four.named_parameters(), p => p.name.StartsWith("encoder.3."));
        Assert.True(four.TrainingFlopsPerToken() > two.TrainingFlopsPerToken());
        var gpt = LanguageModel.Create(TinyRuns.Model());
        var prefix = LanguageModel.Create(TinyRuns.Model() with { Architecture = "prefix_decoder" });
        Assert.Equal(gpt.TrainingFlopsPerToken(), prefix.TrainingFlopsPerToken());
        Assert.InRange(two.TrainingFlopsPerToken(), 0.5 * gpt.TrainingFlopsPerToken(), 3 * gpt.TrainingFlopsPerToken());
    }
}
