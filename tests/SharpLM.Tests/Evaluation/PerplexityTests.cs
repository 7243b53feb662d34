using SharpLM.Evaluation;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;

namespace SharpLM.Tests.Evaluation;

public class PerplexityTests
{
    [Fact]
    public void Result_does_not_depend_on_batch_size_and_bits_agree_for_ascii_chars()
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(1);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize));
        string text = string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 3)); // 135 chars: 8 full windows and a short one
        var one = Perplexity.Evaluate(model, tokenizer, text, torch.CPU, batchSize: 1);
        var many = Perplexity.Evaluate(model, tokenizer, text, torch.CPU, batchSize: 5);
        Assert.Equal(one.NllSum, many.NllSum, 3);
        Assert.Equal(text.Length - 1, one.PredictedTokens);
        Assert.Equal(one.BitsPerToken, one.BitsPerByte, 9); // one byte per token
        // An untrained model is close to uniform over the vocabulary.
        Assert.InRange(one.Perplexity, tokenizer.VocabSize * 0.7, tokenizer.VocabSize * 1.4);
    }

    [Fact]
    public void With_an_end_of_text_token_every_token_and_byte_is_scored()
    {
        var tokenizer = Gpt2Tokenizer.Instance;
        torch.manual_seed(1);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize) with { NEmbd = 16, NLayer = 1 });
        string text = "naïve café — 你好 👋";
        var r = Perplexity.Evaluate(model, tokenizer, text, torch.CPU);
        Assert.Equal(tokenizer.Encode(text).Length, r.PredictedTokens);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), r.Bytes);
        Assert.Equal(r.NllSum / Math.Log(2) / r.Bytes, r.BitsPerByte, 12);
    }

    [Fact]
    public void A_sliding_window_scores_every_token_once_with_the_context_its_stride_promises()
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(4);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize)); // block_size 16
        int[] ids = tokenizer.Encode(string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 2))); // 90 tokens
        var plain = Perplexity.Score(model, ids, torch.CPU);
        Assert.Equal(plain.LogProbabilities, Perplexity.Score(model, ids, torch.CPU, stride: 16).LogProbabilities);

        // Stride 1: prediction k sees exactly the min(k + 1, 16) tokens ending at k.
        var sliding = Perplexity.Score(model, ids, torch.CPU, batchSize: 7, stride: 1);
        model.eval();
        using var _ = torch.no_grad();
        foreach (int k in new[] { 0, 5, 15, 16, 40, 88 })
        {
            int from = Math.Max(0, k - 15);
            var window = torch.tensor(ids[from..(k + 1)].Select(i => (long)i).ToArray(), new long[] { 1, k + 1 - from });
            float expected = torch.nn.functional.log_softmax(model.forward(window)[0, -1], 0)[ids[k + 1]].item<float>();
            Assert.Equal(expected, sliding.LogProbabilities[k], 4);
        }
        // The first window is shared; later predictions see different context than non-overlapping windows give them.
        Assert.Equal(plain.LogProbabilities[..16], sliding.LogProbabilities[..16]);
        Assert.NotEqual(plain.LogProbabilities[16..].Sum(), sliding.LogProbabilities[16..].Sum());

        var stride5 = Perplexity.Score(model, ids, torch.CPU, stride: 5);
        Assert.All(stride5.LogProbabilities, p => Assert.True(p < 0));
        Assert.Throws<InvalidInputException>(() => Perplexity.Score(model, ids, torch.CPU, stride: 17));
    }
}
