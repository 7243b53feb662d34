using SharpLM.Evaluation.Harness;
using SharpLM.Evaluation.Models;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Evaluation.Harness;

public class CheckpointModelTests
{
    static (Gpt Model, CharTokenizer Tokenizer) Tiny()
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus + "?ABC:\n");
        torch.manual_seed(3);
        return (new Gpt(TinyRuns.Model(tokenizer.VocabSize)), tokenizer);
    }

    static readonly LoglikelihoodRequest[] Requests = Enumerable.Range(0, 23).Select(i =>
        new LoglikelihoodRequest(string.Concat(Enumerable.Repeat("the quick brown fox ", 4))[..(5 + 3 * i)], i % 3 == 0 ? " dog" : " lazy fox jumps")).ToArray();

    [Fact]
    public async Task Loglikelihoods_are_identical_at_batch_sizes_1_4_and_16()
    {
        var (model, tokenizer) = Tiny();
        var one = await new CheckpointModel(model, tokenizer, CPU, "tiny", batchSize: 1).LoglikelihoodAsync(Requests);
        foreach (int size in new[] { 4, 16 })
        {
            var batched = await new CheckpointModel(model, tokenizer, CPU, "tiny", batchSize: size).LoglikelihoodAsync(Requests);
            for (int i = 0; i < Requests.Length; i++)
            {
                Assert.Equal(one[i].LogProbability, batched[i].LogProbability, 1e-5);
                Assert.Equal(one[i].IsGreedy, batched[i].IsGreedy);
                Assert.Equal(one[i].Tokens, batched[i].Tokens);
            }
        }
    }

    [Fact]
    public async Task A_loglikelihood_is_the_sum_of_the_continuation_token_log_probabilities()
    {
        var (model, tokenizer) = Tiny();
        var result = (await new CheckpointModel(model, tokenizer, CPU, "tiny").LoglikelihoodAsync([new LoglikelihoodRequest("the quick", " fox")]))[0];
        // By hand: one forward pass over "the quick fo", the log-softmax at each of the last four positions.
        long[] ids = tokenizer.Encode("the quick fox").Select(t => (long)t).ToArray();
        model.eval();
        using var _ = inference_mode();
        var logProbs = nn.functional.log_softmax(model.forward(tensor(ids[..^1], [1, ids.Length - 1])).to(ScalarType.Float64), -1);
        double expected = 0;
        for (int k = ids.Length - 4; k < ids.Length; k++) expected += logProbs[0, k - 1, ids[k]].item<double>();
        Assert.Equal(expected, result.LogProbability, 1e-6); // scored in float32, as lm-eval scores on a GPU
        Assert.Equal(4, result.Tokens); // " fox": the context's trailing space would have moved here too
    }

    [Fact]
    public async Task Greedy_flag_is_true_exactly_when_argmax_decoding_reproduces_the_continuation()
    {
        var (model, tokenizer) = Tiny();
        var m = new CheckpointModel(model, tokenizer, CPU, "tiny");
        string greedy = (await m.GenerateAsync([new GenerationRequest("the qu", [], 3)]))[0];
        Assert.Equal(3, greedy.Length);
        var results = await m.LoglikelihoodAsync([new LoglikelihoodRequest("the qu", greedy), new LoglikelihoodRequest("the qu", greedy[..2] + (greedy[2] == 'x' ? "y" : "x"))]);
        Assert.True(results[0].IsGreedy);
        Assert.False(results[1].IsGreedy);
    }
}
