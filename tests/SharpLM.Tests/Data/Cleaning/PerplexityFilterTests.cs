using SharpLM.Data;
using SharpLM.Data.Cleaning;

namespace SharpLM.Tests.Data.Cleaning;

public class PerplexityFilterTests
{
    // Trained once for the class: the model is read-only after training.
    static readonly Lazy<CharNGramModel> Model = new(() =>
    {
        var model = new CharNGramModel(5);
        model.Train(File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"))[..300_000]);
        return model;
    });

    static CharNGramModel Reference() => Model.Value;

    [DataFact("tinyshakespeare")]
    public void Text_like_the_reference_scores_lower_than_noise_and_other_languages()
    {
        var model = Reference();
        string held = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt")).Substring(900_000, 2000);
        double shakespeare = model.Perplexity(held);
        double noise = model.Perplexity("xq7#zzv Qk9!! wpx 88 vvv jjj qqqq zzxx 0x3f9a kk ## @@ zq");
        double german = model.Perplexity("Die Katze saß auf der Matte und sah die Vögel im Garten an.");
        Assert.True(shakespeare < german && german < noise, $"{shakespeare:F1} / {german:F1} / {noise:F1}");
        Assert.InRange(shakespeare, 1.5, 12); // a 5-gram character model on English: a few nats of uncertainty per char
    }

    [DataFact("tinyshakespeare")]
    public void Band_is_set_by_percentiles_of_the_calibration_sample()
    {
        var model = Reference();
        string text = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"));
        var calibration = Enumerable.Range(0, 100).Select(i => text.Substring(600_000 + i * 3000, 1000)).ToList();
        var head = new PerplexityFilter(model, calibration, 0, 50);
        int kept = calibration.Count(c => head.Apply(new Document("c", c)).Kept is not null);
        Assert.InRange(kept, 49, 51);
        Assert.Equal("perplexity_above_band", head.Apply(new Document("n", "zzxq 8#@! vvjk qqq 0x9f")).Reason);
        Assert.Throws<InvalidInputException>(() => new PerplexityFilter(model, calibration, 60, 40));
    }
}
