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
}
