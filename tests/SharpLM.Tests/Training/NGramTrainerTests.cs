using SharpLM.Data;
using SharpLM.Modeling;
using SharpLM.Modeling.NGram;
using SharpLM.Tokenization;
using SharpLM.Training;

namespace SharpLM.Tests.Training;

public class NGramTrainerTests
{
    [Fact]
    public void Pretrain_with_type_ngram_counts_the_train_split_and_scores_the_val_split_like_the_ngram_command()
    {
        using var dir = new TempDirectory();
        string text = string.Join("\n", Enumerable.Range(0, 200).Select(i => $"line {i % 7} of the {(i % 3 == 0 ? "quick" : "lazy")} fox"));
        string data = TinyRuns.PrepareData(dir.Path, text);
        var config = TinyRuns.Config() with { Model = new ModelConfig { Type = "ngram", NgramOrder = 3 } };
        var summary = NGramTrainer.Run(config, data, dir.File("run"));

        var tokenizer = TokenizerFactory.Load(data);
        string train = NGramTrainer.DecodeShard(data, PreparedData.TrainShard, tokenizer);
        string val = NGramTrainer.DecodeShard(data, PreparedData.ValShard, tokenizer);
        Assert.Equal(text, train + val); // the split decodes back to the corpus
        var expected = KneserNeyModel.Modified(NGramCounts.FromLines(NGramTokenizer.Lines(train), 3, NGramTokenization.Characters));
        Assert.Equal(expected.Evaluate(val).BitsPerCharacter * Math.Log(2), summary.FinalValLoss, 12);
        Assert.True(summary.FinalTrainLoss < summary.FinalValLoss + 1e-9);

        // The ARPA file it writes loads back to the same validation score.
        var arpa = ArpaFormat.Read(Path.Combine(dir.File("run"), NGramTrainer.ModelFile), NGramTokenization.Characters);
        Assert.Equal(summary.FinalValLoss, arpa.Evaluate(val).BitsPerCharacter * Math.Log(2), 9);
        Assert.True(File.Exists(Path.Combine(dir.File("run"), PretrainConfig.FileName)));
        var e = Assert.Throws<InvalidInputException>(() => NGramTrainer.Run(config, data, dir.File("run")));
        Assert.Contains("already holds", e.Message);
    }

    [Fact]
    public void Ngram_pretraining_refuses_data_not_prepared_at_character_level()
    {
        using var dir = new TempDirectory();
        string input = dir.File("input.txt");
        File.WriteAllText(input, string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 40)));
        DataPreparer.Prepare(input, "gpt2", dir.File("data"));
        var config = TinyRuns.Config() with { Model = new ModelConfig { Type = "ngram" } };
        var e = Assert.Throws<InvalidInputException>(() => NGramTrainer.Run(config, dir.File("data"), dir.File("run")));
        Assert.Contains("char tokenizer", e.Message);
    }
}
