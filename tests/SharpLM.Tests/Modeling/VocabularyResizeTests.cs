using SharpLM.Modeling;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Modeling;

public class VocabularyResizeTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void New_rows_are_the_mean_and_old_tokens_keep_their_logits(bool tie)
    {
        torch.manual_seed(6);
        var model = new Gpt(TinyRuns.Model() with { TieEmbeddings = tie });
        model.eval();
        var ids = randint(0, 32, new long[] { 2, 10 }, dtype: ScalarType.Int64);
        using var _ = no_grad();
        var before = model.forward(ids);
        var oldTable = model.named_parameters().First(p => p.name == "wte.weight").parameter.detach().clone();

        model.ResizeVocabulary(35);

        Assert.Equal(35, model.Config.VocabSize);
        var table = model.named_parameters().First(p => p.name == "wte.weight").parameter.detach();
        Assert.Equal(new long[] { 35, 32 }, table.shape);
        Assert.True(table[..32].Equals(oldTable));
        Assert.True(table[33].allclose(oldTable.mean(new long[] { 0 }), rtol: 0, atol: 1e-7));
        if (!tie) Assert.Equal(new long[] { 35, 32 }, model.named_parameters().First(p => p.name == "lm_head.weight").parameter.shape);
        var after = model.forward(ids);
        Assert.Equal(new long[] { 2, 10, 35 }, after.shape);
        Assert.True(before.allclose(after[.., .., ..32], rtol: 0, atol: 1e-5));
        Assert.Equal(new long[] { 1, 1, 35 }, model.forward(tensor(new long[,] { { 34 } })).shape);
    }

    [Fact]
    public void A_grown_model_round_trips_through_a_checkpoint()
    {
        using var dir = new TempDirectory();
        torch.manual_seed(7);
        var model = new Gpt(TinyRuns.Model() with { TieEmbeddings = false });
        model.eval();
        model.ResizeVocabulary(40);
        Checkpoint.Save(dir.Path, model, null, new CheckpointManifest { Step = 0, Model = model.Config, ModelFile = "", ModelSha256 = "" });
        var (loaded, manifest) = Checkpoint.LoadModel(dir.Path, CPU);
        loaded.eval();
        Assert.Equal(40, manifest.Model.VocabSize);
        var ids = tensor(new long[,] { { 1, 39, 2 } });
        using var _ = no_grad();
        Assert.True(model.forward(ids).Equals(loaded.forward(ids)));
    }

    [Fact]
    public void Growing_an_adapted_model_is_refused()
    {
        var model = new Gpt(TinyRuns.Model());
        SharpLM.Adaptation.Peft.Lora.LoraTuning.Apply(model, new() { Rank = 2 });
        Assert.Throws<InvalidOperationException>(() => model.ResizeVocabulary(40));
    }

    [Fact]
    public void Shrinking_is_refused()
    {
        var model = new Gpt(TinyRuns.Model());
        Assert.Contains("shrink", Assert.Throws<InvalidInputException>(() => model.ResizeVocabulary(31)).Message);
    }
}
