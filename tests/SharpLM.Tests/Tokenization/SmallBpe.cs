using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer trained once per test run on the first 100 KB of tinyshakespeare plus a few
/// multilingual lines, so that merges exist inside multi-byte characters (Chinese, accents, emoji) as well.
/// </summary>
internal static class SmallBpe
{
    public const int VocabSize = 1000;

    static readonly Lazy<string> corpus = new(() =>
    {
        string shakespeare = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"));
        const string multilingual = "我们今天去公园散步。世界你好！ naïve café, déjà vu — über straße. 😀👍🏽 👨‍👩‍👧 🇯🇵\n";
        return shakespeare[..100_000] + string.Concat(Enumerable.Repeat(multilingual, 30));
    });

    static readonly Lazy<BpeTokenizer> tokenizer = new(() => Train(Corpus));

    public static string Corpus => corpus.Value;

    public static BpeTokenizer Tokenizer => tokenizer.Value;

    public static BpeTokenizer Train(string text, int vocabSize = VocabSize)
    {
        var trainer = new BpeTrainer(new BpeTrainerOptions { VocabSize = vocabSize });
        trainer.AddDocument(text);
        return trainer.Train();
    }
}
