using System.Globalization;
using System.Text;
using SharpLM.Modeling;
using TorchSharp;

namespace SharpLM.Tests.Modeling;

/// <summary>
/// Pins every parameter's name, shape and initial values for a seed, across the architecture variants: checkpoints
/// are read by weight name, and many tests rely on a seed giving the same model, so refactoring how models are built
/// (Gpt and EncoderDecoder share their embedding, block and initialisation code) must leave both unchanged. The
/// fingerprints in Fixtures/initialisation were recorded before that refactor. Values are compared to 1e-6 relative,
/// not bit for bit, so a libtorch built for other vector units (whose normal_ may round differently) still passes,
/// while any change to which random numbers go where moves them by orders of magnitude more.
/// </summary>
public class InitialWeightsTests
{
    static readonly ModelConfig Tiny = TinyRuns.Model() with { NLayer = 2, NHead = 4, NEmbd = 16, BlockSize = 12 };

    /// <summary>The variants pinned: every norm, placement, position encoding, feed-forward and architecture.</summary>
    public static TheoryData<string> Cases() => new(Variants.Keys);

    static readonly Dictionary<string, ModelConfig> Variants = new()
    {
        ["gpt"] = Tiny,
        ["gpt-llama"] = Tiny with { Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", NKvHead = 2, TieEmbeddings = false, Bias = false, QkvBias = true },
        ["gpt-deepnorm-t5"] = Tiny with { Norm = "deepnorm", NormPlacement = "post", PositionEncoding = "t5", NLayer = 3 },
        ["gpt-sandwich-sinusoidal"] = Tiny with { NormPlacement = "sandwich", PositionEncoding = "sinusoidal", TokenShift = 2, MlpHidden = 24 },
        ["prefix-decoder"] = Tiny with { Architecture = "prefix_decoder", PositionEncoding = "alibi" },
        ["encoder-decoder"] = Tiny with { Architecture = "encoder_decoder", NEncoderLayer = 3 },
        ["encoder-decoder-deepnorm-t5"] = Tiny with { Architecture = "encoder_decoder", Norm = "deepnorm", NormPlacement = "post", PositionEncoding = "t5", Activation = "geglu", NKvHead = 1, TieEmbeddings = false },
        ["encoder-decoder-sandwich-sinusoidal"] = Tiny with { Architecture = "encoder_decoder", NormPlacement = "sandwich", PositionEncoding = "sinusoidal", NEncoderLayer = 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_seed_gives_the_recorded_weight_names_shapes_and_values(string variant)
    {
        torch.manual_seed(1234);
        using var model = LanguageModel.Create(Variants[variant]);
        string actual = Fingerprint(model);
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "initialisation", variant + ".txt");
        string written = Path.Combine(Path.GetTempPath(), $"sharplm-initialisation-{variant}.txt");
        File.WriteAllText(written, actual);
        Assert.True(File.Exists(path), $"no recorded fingerprint {path}; this build's is in {written}");
        var expected = File.ReadAllLines(path);
        var lines = actual.TrimEnd('\n').Split('\n');
        Assert.True(expected.Length == lines.Length, $"{lines.Length} parameters, {expected.Length} recorded (this build's fingerprint: {written})");
        for (int i = 0; i < lines.Length; i++)
        {
            string[] e = expected[i].Split(' '), a = lines[i].Split(' ');
            Assert.True(e[0] == a[0] && e[1] == a[1], $"parameter {i}: recorded {e[0]} {e[1]}, built {a[0]} {a[1]}");
            for (int k = 2; k < e.Length; k++)
            {
                double x = double.Parse(e[k], CultureInfo.InvariantCulture), y = double.Parse(a[k], CultureInfo.InvariantCulture);
                Assert.True(Math.Abs(x - y) <= 1e-6 * Math.Max(1e-3, Math.Abs(x)), $"{e[0]}: recorded {expected[i]}, built {lines[i]}");
            }
        }
    }

    [Fact]
    public void The_same_seed_builds_bit_identical_models()
    {
        foreach (var config in Variants.Values)
        {
            torch.manual_seed(5);
            using var a = LanguageModel.Create(config);
            torch.manual_seed(5);
            using var b = LanguageModel.Create(config);
            var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in a.named_parameters())
                Assert.True(p.data<float>().ToArray().SequenceEqual(pb[name].data<float>().ToArray()), $"{config.Architecture} {name} differs between two builds from one seed");
        }
    }

    /// <summary>One line per parameter, in state-dict order: name, shape, Σx, Σx², first and last value.</summary>
    static string Fingerprint(torch.nn.Module model)
    {
        var text = new StringBuilder();
        foreach (var (name, p) in model.named_parameters())
        {
            float[] v = p.data<float>().ToArray();
            double sum = 0, squares = 0;
            foreach (float x in v) { sum += x; squares += (double)x * x; }
            text.Append(CultureInfo.InvariantCulture, $"{name} [{string.Join(",", p.shape)}] {sum:R} {squares:R} {v[0]:R} {v[^1]:R}\n");
        }
        return text.ToString();
    }
}
