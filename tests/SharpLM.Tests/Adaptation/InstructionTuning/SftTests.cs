using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.InstructionTuning;

public class SftTests
{
    static readonly SftExample A = SftExample.FromPromptResponse([1, 2, 3], [4, 5], endOfTurn: 9);    // 6 tokens
    static readonly SftExample B = SftExample.FromPromptResponse([6, 7], [8], endOfTurn: 9);          // 4 tokens
    static readonly SftExample C = SftExample.FromPromptResponse([1, 1, 1, 1, 1], [2, 2], endOfTurn: 9); // 8 tokens

    [Fact]
    public void Prompt_tokens_are_context_and_the_response_and_end_of_turn_are_trained()
    {
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 9 }, A.Tokens);
        Assert.Equal(new[] { false, false, false, true, true, true }, A.Trained);
    }

    [Fact]
    public void Packing_is_first_fit_with_next_token_labels_inside_each_example_and_padding_after()
    {
        var rows = SequencePacking.Pack([A, C, B], length: 10, rowsPerBatch: 8);
        var batch = Assert.Single(rows);
        Assert.Equal(2, batch.Rows); // A (6) + B (4) fill row 0; C (8) does not fit there and opens row 1
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 9, 6, 7, 8, 9 }, batch.Tokens[..10]);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1 }, batch.Segments[..10]);
        // Each position's label is the next token of its own example; the last token of an example predicts nothing.
        Assert.Equal(new long[] { 2, 3, 4, 5, 9, -1, 7, 8, 9, -1 }, batch.Labels[..10]);
        Assert.Equal(new[] { false, false, true, true, true, false, false, true, true, false }, batch.LossMask[..10]);
        // Row 1: C then two padding positions in a segment of their own, never counted.
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 }, batch.Segments[10..]);
        Assert.Equal(new long[] { -1, -1 }, batch.Labels[18..]);
        Assert.Equal(5 + 3, batch.TrainedTokens);
    }

    [Fact]
    public void An_example_longer_than_a_row_keeps_its_end_where_the_response_is()
    {
        var batch = Assert.Single(SequencePacking.Pack([C], length: 5, rowsPerBatch: 1));
        Assert.Equal(new long[] { 1, 1, 2, 2, 9 }, batch.Tokens);
        Assert.Equal(new[] { false, true, true, true, false }, batch.LossMask);
    }

    static Gpt TinyModel()
    {
        torch.manual_seed(3);
        var model = new Gpt(new ModelConfig { VocabSize = 12, BlockSize = 10, NLayer = 1, NHead = 2, NEmbd = 16 });
        model.eval();
        return model;
    }

    [Fact]
    public void Changing_the_labels_of_prompt_tokens_never_changes_the_loss()
    {
        using var model = TinyModel();
        var batch = SequencePacking.Pack([A, C, B], 10, 8)[0];
        var (x, y, mask, s) = batch.ToTensors(CPU);
        using var _ = no_grad();
        float loss = SftTrainer.Loss(model, x, y, mask, s).item<float>();
        var relabelled = y.clone();
        relabelled.masked_fill_(mask.logical_not(), 7); // every prompt / example-end / padding label changed
        Assert.Equal(loss, SftTrainer.Loss(model, x, relabelled, mask, s).item<float>());
        var changedResponse = y.clone();
        changedResponse[0, 3] = 0; // a trained label: the loss must notice
        Assert.NotEqual(loss, SftTrainer.Loss(model, x, changedResponse, mask, s).item<float>());

        // The loss is the mean cross-entropy over exactly the trained positions.
        var logits = model.ForwardPacked(x, s).log_softmax(-1);
        double sum = 0;
        int n = 0;
        for (int r = 0; r < batch.Rows; r++)
            for (int i = 0; i < batch.Length; i++)
                if (batch.LossMask[r * batch.Length + i]) { sum -= logits[r, i, batch.Labels[r * batch.Length + i]].item<float>(); n++; }
        Assert.Equal(sum / n, loss, 4);
    }

    [Fact]
    public void Sft_lowers_the_loss_on_trained_tokens_and_evaluates_at_the_end()
    {
        using var model = TinyModel();
        var examples = Enumerable.Range(0, 40).Select(i => SftExample.FromPromptResponse([1 + i % 5, 2], [3 + i % 5], endOfTurn: 11)).ToList();
        var losses = new List<double>();
        int evaluations = 0;
        var summary = new SftTrainer(model, new SftOptions { MaxIters = 60, BatchSize = 4, LearningRate = 1e-2, EvalInterval = 30, Threads = 1 }, examples)
        {
            OnStep = s => losses.Add(s.Loss),
            EvaluateExactMatch = () => ++evaluations / 10.0,
        }.Run();
        Assert.Equal(60, summary.Iters);
        Assert.Equal(2, evaluations); // at step 30 and at the end
        Assert.Equal(0.2, summary.FinalExactMatch);
        Assert.True(losses.TakeLast(5).Average() < losses.Take(5).Average() / 2, $"{losses.Take(5).Average()} → {losses.TakeLast(5).Average()}");
        Assert.Equal(summary.TotalParameters, summary.TrainableParameters); // full fine-tuning
    }

    [Fact]
    public void Bf16_mixed_sft_multiplies_in_bf16_keeps_float32_weights_and_tracks_the_fp32_losses()
    {
        var examples = Enumerable.Range(0, 40).Select(i => SftExample.FromPromptResponse([1 + i % 5, 2], [3 + i % 5], endOfTurn: 11)).ToList();
        List<double> Train(string precision, out Gpt model)
        {
            model = TinyModel();
            var losses = new List<double>();
            new SftTrainer(model, new SftOptions { MaxIters = 60, BatchSize = 4, LearningRate = 1e-2, EvalInterval = 100, Threads = 1, Precision = precision }, examples)
            {
                OnStep = s => losses.Add(s.Loss),
            }.Run();
            return losses;
        }
        var fp32 = Train("fp32", out var a);
        var mixed = Train("bf16-mixed", out var b);
        using (a)
        using (b)
        {
            Assert.False(MixedPrecision.IsApplied(a));
            Assert.True(MixedPrecision.IsApplied(b));
            Assert.All(b.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        }
        Assert.NotEqual(fp32, mixed); // the bf16 products change the trajectory
        Assert.True(mixed.TakeLast(5).Average() < mixed.Take(5).Average() / 2, "bf16-mixed SFT learns");
        Assert.True(Math.Abs(fp32.TakeLast(5).Average() - mixed.TakeLast(5).Average()) < 0.05, $"fp32 {fp32.TakeLast(5).Average()} vs bf16-mixed {mixed.TakeLast(5).Average()}");
        Assert.Contains("precision", Assert.Throws<InvalidInputException>(() => new SftOptions { Precision = "fp16" }.Validate()).Message);
    }
}
