using System.Diagnostics;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Modeling.NGram;
using SharpLM.Runtime;
using SharpLM.Tokenization;

namespace SharpLM.Training;

/// <summary>
/// `pretrain` for model type "ngram": the statistical generation is trained by counting, not by gradient descent.
/// The prepared character-level train split is decoded back to text and counted into an interpolated modified
/// Kneser-Ney model of order ngram_order (one line = one sentence, its newline scored as &lt;/s&gt;), which is written
/// as model.arpa; the validation split is scored the same way. Its val loss is in nats per character, the unit of
/// the neural models' loss on the same split.
/// </summary>
public static class NGramTrainer
{
    /// <summary>The ARPA file the model is written to in the run directory.</summary>
    public const string ModelFile = "model.arpa";

    /// <summary>
    /// Counts the model, scores both splits (loss in nats per character) and writes model.arpa, the run config, the
    /// tokenizer, metrics.jsonl and summary.json into <paramref name="outDir"/>. One "iteration" and one evaluation.
    /// </summary>
    /// <exception cref="InvalidInputException">The data is not prepared or not character-level, or the output
    /// directory already holds an n-gram model.</exception>
    public static TrainingSummary Run(PretrainConfig config, string dataDir, string outDir, ITrainingObserver? observer = null)
    {
        var wall = Stopwatch.StartNew();
        if (!DataPreparer.IsPrepared(dataDir))
            throw InvalidInputException.ForFile(dataDir, "no prepared data (train.bin, val.bin, data.json); run 'sharplm data prepare' first");
        ITokenizer tokenizer = TokenizerFactory.Load(dataDir);
        if (tokenizer is not CharTokenizer)
            throw InvalidInputException.ForFile(dataDir, "ngram pre-training needs data prepared with the char tokenizer; for word n-grams over text use 'sharplm ngram train --unit word'");
        var runConfig = config with { Model = config.Model with { VocabSize = tokenizer.VocabSize } };
        runConfig.Model.Validate();
        Directory.CreateDirectory(outDir);
        string arpa = Path.Combine(outDir, ModelFile);
        if (File.Exists(arpa)) throw InvalidInputException.ForFile(outDir, "already holds an n-gram model; choose another --out");

        int order = runConfig.Model.NgramOrder;
        observer?.OnStart(0, 1, 0);
        var loop = Stopwatch.StartNew();
        string train = DecodeShard(dataDir, PreparedData.TrainShard, tokenizer);
        var counts = NGramCounts.FromLines(NGramTokenizer.Lines(train), order, NGramTokenization.Characters);
        var model = KneserNeyModel.Modified(counts);
        double trainSeconds = loop.Elapsed.TotalSeconds;
        double trainLoss = model.Evaluate(train).BitsPerCharacter * Math.Log(2);
        double valLoss = model.Evaluate(DecodeShard(dataDir, PreparedData.ValShard, tokenizer)).BitsPerCharacter * Math.Log(2);
        var eval = new EvalRecord(1, trainLoss, valLoss, Math.Round(trainSeconds, 3));
        observer?.OnEval(eval);

        ArpaFormat.Write(model, arpa);
        AtomicFile.WriteAllText(Path.Combine(outDir, PretrainConfig.FileName), JsonSerializer.Serialize(runConfig, Json.Options));
        tokenizer.Save(outDir);
        using (var log = new MetricsLog(outDir, null)) log.Write(eval);
        long parameters = Enumerable.Range(1, order).Sum(k => (long)counts.Types(k)); // one probability per stored n-gram
        var summary = new TrainingSummary
        {
            FinalTrainLoss = trainLoss, FinalValLoss = valLoss, Iters = 1, Params = parameters,
            WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 2), TrainSeconds = Math.Round(trainSeconds, 2),
            TokensPerSecond = Math.Round(train.Length / Math.Max(trainSeconds, 1e-9), 1),
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, Trainer.SummaryFile), JsonSerializer.Serialize(summary, Json.Options));
        observer?.OnEnd(summary);
        return summary;
    }

    /// <summary>The text a prepared split holds, decoded with its tokenizer.</summary>
    public static string DecodeShard(string dataDir, string shardName, ITokenizer tokenizer)
    {
        using var shard = TokenShard.Open(Path.Combine(dataDir, shardName));
        var ids = new int[shard.Count];
        for (long i = 0; i < shard.Count; i++) ids[i] = shard[i];
        return tokenizer.Decode(ids);
    }
}
