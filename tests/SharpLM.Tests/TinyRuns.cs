using SharpLM.Data;
using SharpLM.Modeling;
using SharpLM.Training;

namespace SharpLM.Tests;

/// <summary>Tiny models and corpora that train in a second or two, for behaviour tests.</summary>
internal static class TinyRuns
{
    public const string Corpus = "the quick brown fox jumps over the lazy dog. ";

    public static ModelConfig Model(int vocab = 32) => new()
    {
        VocabSize = vocab, BlockSize = 16, NLayer = 2, NHead = 2, NEmbd = 32,
    };

    public static PretrainConfig Config(int maxIters = 40, int evalInterval = 10) => new()
    {
        Tokenizer = "char",
        Model = Model(),
        Training = new TrainingConfig
        {
            BatchSize = 4, MaxIters = maxIters, LearningRate = 3e-3, MinLr = 3e-4, WarmupIters = 5,
            LrDecayIters = maxIters, EvalInterval = evalInterval, EvalIters = 2, Threads = 1, Seed = 7, GcInterval = 0,
        },
    };

    /// <summary>Prepares <paramref name="text"/> (default: the corpus repeated) with the char tokenizer into dir/data.</summary>
    public static string PrepareData(string dir, string? text = null)
    {
        string input = Path.Combine(dir, "input.txt");
        File.WriteAllText(input, text ?? string.Concat(Enumerable.Repeat(Corpus, 60)));
        string data = Path.Combine(dir, "data");
        DataPreparer.Prepare(input, "char", data);
        return data;
    }
}
