using System.CommandLine;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.Runtime;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm data prepare`: text → train.bin / val.bin token shards.</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = ".txt/.jsonl (optionally .gz) or .parquet, a directory or a glob; or a URL or 'tinyshakespeare'.", Required = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "char, gpt2, or a tokenizer.json / directory.", DefaultValueFactory = _ => "char" };
        var output = new Option<string>("--out") { Description = "Output directory.", Required = true };
        var field = new Option<string>("--field") { Description = "JSON field holding the text in .jsonl input.", DefaultValueFactory = _ => "text" };
        var fraction = new Option<double>("--train-fraction") { Description = "Leading share of tokens used for training (nanoGPT: 0.9).", DefaultValueFactory = _ => 0.9 };
        var prepare = new Command("prepare", "Tokenize a corpus into memory-mappable shards with a 90/10 train/val split.") { input, tokenizer, output, field, fraction };
        prepare.SetAction(parse =>
        {
            string path = Corpora.Resolve(parse.GetValue(input)!, Console.Error.WriteLine);
            var meta = DataPreparer.Prepare(path, parse.GetValue(tokenizer)!, parse.GetValue(output)!, parse.GetValue(field)!, parse.GetValue(fraction));
            Console.WriteLine(JsonSerializer.Serialize(meta, Json.Options));
            return 0;
        });
        return new Command("data", "Fetch, prepare, clean and mix data.") { prepare, DataFetchCommand.CreateFetch(), DataFetchCommand.CreateList(), DataCleanCommand.Create(), DataMixCommand.Create(), DataSkillsCommand.Create(), DataPreferencesCommand.Create() };
    }
}
