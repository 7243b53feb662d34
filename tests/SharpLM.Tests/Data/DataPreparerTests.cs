using SharpLM.Data;

namespace SharpLM.Tests.Data;

public class DataPreparerTests
{
    [Fact]
    public void Char_data_splits_first_90_percent_train_last_10_percent_val_like_nanoGPT()
    {
        using var dir = new TempDirectory();
        string text = string.Concat(Enumerable.Range(0, 1000).Select(i => (char)('a' + i % 26)));
        string data = TinyRuns.PrepareData(dir.Path, text);
        using var train = TokenShard.Open(Path.Combine(data, PreparedData.TrainShard));
        using var val = TokenShard.Open(Path.Combine(data, PreparedData.ValShard));
        Assert.Equal(900, train.Count);
        Assert.Equal(100, val.Count);
        var tokenizer = SharpLM.Tokenization.TokenizerFactory.Load(data);
        var trainIds = Enumerable.Range(0, 900).Select(i => train[i]).ToArray();
        var valIds = Enumerable.Range(0, 100).Select(i => val[i]).ToArray();
        Assert.Equal(text[..900], tokenizer.Decode(trainIds));
        Assert.Equal(text[900..], tokenizer.Decode(valIds));
    }

    [Fact]
    public void Jsonl_field_is_read_and_documents_are_separated_by_end_of_text()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("docs.jsonl"), new[] { "{\"body\": \"hello world\"}", "", "{\"body\": \"second doc\"}" });
        var meta = DataPreparer.Prepare(dir.File("docs.jsonl"), "gpt2", dir.File("out"), jsonlField: "body", trainFraction: 0.5);
        Assert.Equal(2, meta.Documents);
        using var train = TokenShard.Open(Path.Combine(dir.File("out"), PreparedData.TrainShard));
        using var val = TokenShard.Open(Path.Combine(dir.File("out"), PreparedData.ValShard));
        var all = Enumerable.Range(0, (int)train.Count).Select(i => train[i]).Concat(Enumerable.Range(0, (int)val.Count).Select(i => val[i])).ToArray();
        Assert.Contains(50256, all);
        Assert.Equal("hello world<|endoftext|>second doc", SharpLM.Tokenization.TokenizerFactory.Load("gpt2").Decode(all));
    }

    [Fact]
    public void Prepared_data_is_reused_only_for_the_same_input_and_tokenizer()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("a.txt"), string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 40)));
        File.WriteAllText(dir.File("b.txt"), "another corpus entirely");
        var (first, made) = DataPreparer.PrepareOnce(dir.File("a.txt"), "char", dir.File("data"));
        Assert.True(made);
        DateTime written = File.GetLastWriteTimeUtc(Path.Combine(dir.File("data"), PreparedData.TrainShard));
        var (again, remade) = DataPreparer.PrepareOnce(dir.File("a.txt"), "char", dir.File("data"));
        Assert.False(remade);
        Assert.Equal(first.TrainTokens, again.TrainTokens);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(dir.File("data"), PreparedData.TrainShard)));

        var otherSource = Assert.Throws<InvalidInputException>(() => DataPreparer.PrepareOnce(dir.File("b.txt"), "char", dir.File("data")));
        Assert.Contains(Path.Combine(dir.File("data"), PreparedData.FileName), otherSource.Message);
        Assert.Contains("b.txt", otherSource.Message);
        Assert.Throws<InvalidInputException>(() => DataPreparer.PrepareOnce(dir.File("a.txt"), "gpt2", dir.File("data")));

        // A tokenizer.json is compared by the kind it loads as (it used to be taken for "bpe" whatever it was).
        Directory.CreateDirectory(dir.File("tok"));
        SharpLM.Tests.Tokenization.SmallBpe.Train(File.ReadAllText(dir.File("a.txt"))).Save(dir.File("tok"));
        string tokenizerFile = SharpLM.Tokenization.TokenizerFile.PathIn(dir.File("tok"));
        Assert.True(DataPreparer.PrepareOnce(dir.File("a.txt"), tokenizerFile, dir.File("bpe")).Made);
        Assert.False(DataPreparer.PrepareOnce(dir.File("a.txt"), tokenizerFile, dir.File("bpe")).Made);
    }

    [Fact]
    public void Malformed_jsonl_line_is_reported_with_file_and_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("bad.jsonl"), new[] { "{\"text\": \"ok\"}", "{not json" });
        var e = Assert.Throws<InvalidInputException>(() => DataPreparer.Prepare(dir.File("bad.jsonl"), "char", dir.File("out")));
        Assert.Contains("bad.jsonl:2", e.Message);

        File.WriteAllLines(dir.File("nofield.jsonl"), new[] { "{\"content\": \"ok\"}" });
        Assert.Contains("field 'text' missing", Assert.Throws<InvalidInputException>(() => DataPreparer.Prepare(dir.File("nofield.jsonl"), "char", dir.File("out2"))).Message);
    }

    [Fact]
    public void Directories_are_read_in_path_order()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("in"));
        File.WriteAllText(dir.File("in/b.txt"), "second");
        File.WriteAllText(dir.File("in/a.txt"), "first");
        var docs = DocumentReader.Read(dir.File("in")).Select(d => d.Text).ToList();
        Assert.Equal(new[] { "first", "second" }, docs);
    }
}
