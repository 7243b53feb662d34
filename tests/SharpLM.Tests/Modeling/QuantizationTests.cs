using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Tests.Modeling;

public class QuantizationTests
{
    static Gpt Model(int seed)
    {
        manual_seed(seed);
        var model = new Gpt(new ModelConfig { VocabSize = 40, BlockSize = 32, NLayer = 2, NHead = 4, NKvHead = 2, NEmbd = 64, Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", Bias = false, TieEmbeddings = false });
        model.eval();
        return model;
    }

    static Tensor Ids() => tensor(Enumerable.Range(0, 24).Select(i => (long)(i * 7 % 40)).ToArray()).reshape(1, 24);

    [Fact]
    public void Int8_weights_take_a_quarter_of_the_memory_and_change_the_logits_by_a_rounding_error()
    {
        var reference = Model(1);
        var quantised = Model(1);
        using var _ = no_grad();
        var expected = reference.forward(Ids());
        var (before, after) = Quantization.Quantize(quantised, new QuantizationSpec("int8"));
        var actual = quantised.forward(Ids());
        // Linear weights shrink 4×; the embedding stays float32.
        long embedding = 40L * 64 * 4, norms = 5L * 64 * 4;
        Assert.InRange((double)(after - embedding - norms) / (before - embedding - norms), 0.24, 0.27);
        Assert.InRange((double)Quantization.LinearWeightBytes(quantised) / Quantization.LinearWeightBytes(reference), 0.25, 0.27);
        double worst = (actual - expected).abs().max().item<float>(), range = expected.abs().max().item<float>();
        Assert.True(worst < 0.02 * range, $"largest logit change {worst} of {range}");
        Assert.True(worst > 0, "quantisation changed nothing: the int8 path was not taken");
        Assert.Equal(expected.argmax(-1).data<long>().ToArray(), actual.argmax(-1).data<long>().ToArray());
        Assert.Throws<InvalidOperationException>(() => Quantization.Quantize(quantised, new QuantizationSpec("int4", 32)));
    }

    [Fact]
    public void Int4_weights_take_under_a_sixth_of_the_float_memory_at_group_64()
    {
        var reference = Model(3);
        var quantised = Model(3);
        Quantization.Quantize(quantised, Quantization.Spec("int4", null, "test"));
        Assert.Equal(new QuantizationSpec("int4", 64), Quantization.Of(quantised));
        // Half a byte per weight plus 8 bytes of scale and offset per 64 weights: 0.625 / 4 of float32, a little more
        // where SwiGLU's hidden width (170) is padded to whole groups.
        Assert.InRange((double)Quantization.LinearWeightBytes(quantised) / Quantization.LinearWeightBytes(reference), 0.625 / 4, 1.0 / 6);
        Assert.All(quantised.modules().OfType<TorchSharp.Modules.Linear>(), l => Assert.Equal(0, l.weight!.numel()));
    }

    [Theory]
    [InlineData(7, 100, 32)] // 100 columns: the last group of each row is padded
    [InlineData(5, 64, 16)]
    [InlineData(3, 9, 4)]
    public void Int4_round_trip_keeps_every_weight_within_half_a_step_of_its_group(int rows, int columns, int groupSize)
    {
        manual_seed(rows * columns);
        // Groups of very different ranges, one constant row, and an outlier.
        var weight = randn(rows, columns) * linspace(0.01, 3, columns).unsqueeze(0);
        weight[1] = full(columns, 0.25f);
        weight[0, columns / 2] = tensor(40f);
        var q = new Int4Weights(weight, new QuantizationSpec("int4", groupSize));
        var restored = q.Dequantize(ScalarType.Float32);
        Assert.Equal(new long[] { rows, columns }, restored.shape);
        var buffers = q.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        long groups = (columns + groupSize - 1) / groupSize;
        Assert.Equal(new long[] { rows, groups * groupSize / 2 }, buffers["qweight"].shape);
        Assert.Equal(new long[] { rows, groups }, buffers["scale"].shape);
        // Each element's step is its group's scale: columns j·G … j·G + G − 1 share scale[:, j].
        var step = buffers["scale"].repeat_interleave(groupSize, 1).narrow(1, 0, columns);
        var error = (restored - weight).abs();
        var slack = step / 2 + 1e-6 * weight.abs() + 1e-7; // float rounding of (w − offset) / scale and back
        Assert.True(error.le(slack).all().item<bool>(), $"largest error over half a step: {(error - step / 2).max().item<float>()}");
        Assert.True(error.max().item<float>() > 0, "nothing was rounded: the test weights are degenerate");
        Assert.Equal(0f, error[1].max().item<float>()); // a constant group is exact
    }

    [Fact]
    public void Packing_holds_every_pair_of_nibble_values_exactly_and_unpacks_to_the_same_codes()
    {
        // Byte r of a [256, 2] code matrix packs (low, high) = (r % 16, r / 16): all 256 byte values, all 16 codes in both nibbles.
        var codes = tensor(Enumerable.Range(0, 256).SelectMany(r => new[] { (byte)(r % 16), (byte)(r / 16) }).ToArray()).reshape(256, 2);
        var packed = Int4Weights.Pack(codes);
        Assert.Equal(new long[] { 256, 1 }, packed.shape);
        Assert.Equal(Enumerable.Range(0, 256).Select(r => (byte)r).ToArray(), packed.data<byte>().ToArray());
        Assert.Equal(codes.data<byte>().ToArray(), Int4Weights.Unpack(packed).data<byte>().ToArray());
        // Wider rows: code j and code j + n share byte j; odd row counts round-trip too.
        var many = randint(0, 16, new long[] { 3, 48 }, dtype: ScalarType.Byte);
        var packedMany = Int4Weights.Pack(many);
        Assert.Equal(new long[] { 3, 24 }, packedMany.shape);
        Assert.Equal(many[2, 5].item<byte>() + 16 * many[2, 29].item<byte>(), packedMany[2, 5].item<byte>());
        Assert.Equal(many.data<byte>().ToArray(), Int4Weights.Unpack(packedMany).data<byte>().ToArray());
        Assert.Throws<ArgumentException>(() => Int4Weights.Pack(many.narrow(1, 0, 47)));
    }

    [Theory]
    [InlineData("int4:7", "group size 7 must be an even number")]
    [InlineData("int4:0", "group size 0 must be an even number")]
    [InlineData("int8:32", "int8 has no groups")]
    [InlineData("int3", "expected one of int8, int4")]
    [InlineData("int4:x", "expected none, int8, int4 or int4:GROUP_SIZE")]
    public void Bad_quantisation_specs_are_refused_naming_the_flag(string text, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => QuantizationSpec.Parse(text, "--quantize"));
        Assert.Contains("--quantize", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Quantisation_specs_parse_with_their_default_group_sizes()
    {
        Assert.Null(QuantizationSpec.Parse("none", "--quantize"));
        Assert.Equal(new QuantizationSpec("int8"), QuantizationSpec.Parse("int8", "--quantize"));
        Assert.Equal(new QuantizationSpec("int4", Int4Weights.DefaultGroupSize), QuantizationSpec.Parse("int4", "--quantize"));
        Assert.Equal(new QuantizationSpec("int4", 128), QuantizationSpec.Parse("int4:128", "--quantize"));
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("int4:16")]
    public void A_quantised_model_generates_the_same_tokens_with_and_without_its_cache(string scheme)
    {
        var tokenizer = CharTokenizer.FromText("abcdefghijklmnopqrstuvwxyz ,.;:!?'\"()-0123456");
        var model = Model(2);
        Quantization.Quantize(model, QuantizationSpec.Parse(scheme, "test")!);
        var generator = new Generator(model, tokenizer, CPU);
        var options = new SharpLM.Inference.SamplingOptions { Temperature = 0, MaxNewTokens = 20 };
        int[] prompt = tokenizer.Encode("hello");
        Assert.Equal(generator.GenerateTokens(prompt, options with { UseKvCache = false }).ToList(), generator.GenerateTokens(prompt, options).ToList());
    }
}
