using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Tests.Modeling;

public class Int8WeightsTests
{
    static Gpt Model(int seed)
    {
        manual_seed(seed);
        var model = new Gpt(new ModelConfig { VocabSize = 40, BlockSize = 32, NLayer = 2, NHead = 4, NKvHead = 2, NEmbd = 64, Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", Bias = false, TieEmbeddings = false });
        model.eval();
        return model;
    }

    [Fact]
    public void Int8_weights_take_a_quarter_of_the_memory_and_change_the_logits_by_a_rounding_error()
    {
        var reference = Model(1);
        var quantised = Model(1);
        var ids = tensor(Enumerable.Range(0, 24).Select(i => (long)(i * 7 % 40)).ToArray()).reshape(1, 24);
        using var _ = no_grad();
        var expected = reference.forward(ids);
        var (before, after) = Int8Weights.Quantize(quantised);
        var actual = quantised.forward(ids);
        // Linear weights shrink 4×; the embedding stays float32.
        long embedding = 40L * 64 * 4, norms = 5L * 64 * 4;
        Assert.InRange((double)(after - embedding - norms) / (before - embedding - norms), 0.24, 0.27);
        double worst = (actual - expected).abs().max().item<float>(), range = expected.abs().max().item<float>();
        Assert.True(worst < 0.02 * range, $"largest logit change {worst} of {range}");
        Assert.True(worst > 0, "quantisation changed nothing: the int8 path was not taken");
        Assert.Equal(expected.argmax(-1).data<long>().ToArray(), actual.argmax(-1).data<long>().ToArray());
        Assert.Throws<InvalidOperationException>(() => Int8Weights.Quantize(quantised));
    }

    [Fact]
    public void A_quantised_model_generates_the_same_tokens_with_and_without_its_cache()
    {
        var tokenizer = CharTokenizer.FromText("abcdefghijklmnopqrstuvwxyz ,.;:!?'\"()-0123456");
        var model = Model(2);
        Int8Weights.Quantize(model);
        var generator = new Generator(model, tokenizer, CPU);
        var options = new SharpLM.Inference.SamplingOptions { Temperature = 0, MaxNewTokens = 20 };
        int[] prompt = tokenizer.Encode("hello");
        Assert.Equal(generator.GenerateTokens(prompt, options with { UseKvCache = false }).ToList(), generator.GenerateTokens(prompt, options).ToList());
    }
}
