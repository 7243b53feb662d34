using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Prompt;
using SharpLM.Modeling;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Peft.Prompt;

public class PromptTuningTests : PeftMethodContract
{
    static readonly PromptOptions Options = new() { Length = 3 };

    protected override PeftMethod Apply(Gpt model) => PromptTuning.Apply(model, Options);

    protected override long ExpectedTrainable(ModelConfig c) => Options.Length * c.NEmbd;

    [Fact]
    public void The_soft_prompt_shrinks_the_context_and_returns_logits_for_the_tokens_only()
    {
        var model = Base();
        PromptTuning.Apply(model, Options);
        Assert.Equal(model.Config.BlockSize - 3, model.ContextLength);
        using var _ = no_grad();
        Assert.Equal(new long[] { 2, 13, Vocab }, model.forward(zeros(2, 13, dtype: ScalarType.Int64)).shape);
        Assert.Throws<ArgumentException>(() => model.forward(zeros(2, 14, dtype: ScalarType.Int64)));
    }

    [Fact]
    public void Text_initialisation_copies_the_embeddings_of_the_text_tokens()
    {
        var model = Base();
        var table = model.TokenEmbeddingWeight.detach().clone();
        var method = PromptTuning.Apply(model, new PromptOptions { Length = 5, Init = "text", InitTokenIds = new[] { 7, 3 } });
        var prompt = method.TrainableParameters.Single().Parameter.detach();
        Assert.True(prompt.Equals(table.index_select(0, tensor(new long[] { 7, 3, 7, 3, 7 }))));
        Assert.Throws<InvalidInputException>(() => PromptTuning.Apply(Base(), new PromptOptions { Init = "text", InitTokenIds = new[] { Vocab } }));
    }

    [Fact]
    public void The_real_tokens_see_the_soft_prompt()
    {
        var model = Base();
        var (x, _) = Batch();
        var before = Logits(model, x);
        PromptTuning.Apply(model, Options);
        Assert.True(MaxAbsDiff(before[.., 0], Logits(model, x)[.., 0]) > 1e-6);
    }

    [Fact]
    public void Packed_rows_are_refused()
    {
        var model = Base();
        PromptTuning.Apply(model, Options);
        var ids = zeros(1, 8, dtype: ScalarType.Int64);
        Assert.Throws<InvalidOperationException>(() => model.ForwardPacked(ids, zeros(1, 8, dtype: ScalarType.Int64)));
    }
}
