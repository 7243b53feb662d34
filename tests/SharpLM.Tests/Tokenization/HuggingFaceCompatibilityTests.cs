using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SharpLM.Tokenization;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;
using Ml = Microsoft.ML.Tokenizers;

namespace SharpLM.Tests.Tokenization;

/// <summary>Our tokenizer.json must mean the same to other implementations as it does to us.</summary>
public class HuggingFaceCompatibilityTests
{
    static readonly string[] samples =
    [
        "hello world", "First Citizen:\nBefore we proceed any further, hear me speak.", "  leading and trailing  ",
        "I'll say 'tis naught; they're here.", "numbers 12345 and 3.14159", "tabs\tand\r\nnewlines\n\n\n  indented",
        "我们今天去公园散步。", "世界你好！漢字", "naïve café déjà vu über straße", "e\u0301 a\u0308 combining",
        "😀👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️", "a𝐀b 𠀀! 𝟎1", "text<|endoftext|>more<|endoftext|>", "<|endof not special", "",
    ];

    static IEnumerable<string> Strings() => samples.Concat(RandomText.Strings(seed: 5, count: 300));

    [DataFact("tinyshakespeare")]
    public void HuggingFaceTokenizersReadsOurFileAndGivesTheSameIds()
    {
        using var directory = new TempDirectory();
        SmallBpe.Tokenizer.Save(directory.Path);
        using var huggingFace = new HfTokenizer(Path.Combine(directory.Path, "tokenizer.json"));

        foreach (string text in Strings())
        {
            int[] ours = SmallBpe.Tokenizer.Encode(text);
            Assert.Equal(ours, huggingFace.Encode(text).Select(id => (int)id));
        }
        Assert.Equal(samples[1], huggingFace.Decode(SmallBpe.Tokenizer.Encode(samples[1]).Select(id => (uint)id).ToArray()));
    }

    [DataFact("tinyshakespeare")]
    public void MicrosoftMlTokenizersGivesTheSameIdsFromOurVocabAndMerges()
    {
        BpeTokenizer ours = SmallBpe.Tokenizer;
        var specials = new Dictionary<string, int> { [BpeTokenizer.EndOfText] = ours.EndOfTextId!.Value };
        var microsoft = Ml.BpeTokenizer.Create(new Ml.BpeOptions(ours.Vocab.Select((token, id) => KeyValuePair.Create(token, id)))
        {
            Merges = ours.Merges.Select(m => $"{m.Left} {m.Right}"),
            ByteLevel = true,
            PreTokenizer = new Ml.RegexPreTokenizer(new Regex(GptPreTokenizer.Pattern), specials),
            SpecialTokens = specials,
        });

        foreach (string random in Strings())
        {
            // Microsoft's pre-tokenizer is the .NET regex, which misreads letters beyond the BMP; compare the rest.
            string text = new(random.Where(c => !char.IsSurrogate(c)).ToArray());
            Assert.Equal(ours.Encode(text), microsoft.EncodeToIds(text));
        }
    }

    [DataFact("tinyshakespeare")]
    public void SavedFileLoadsBackAsTheSameTokenizer()
    {
        using var directory = new TempDirectory();
        SmallBpe.Tokenizer.Save(directory.Path);

        BpeTokenizer loaded = HuggingFaceTokenizerJson.Load(Path.Combine(directory.Path, "tokenizer.json"));

        Assert.Equal(SmallBpe.Tokenizer.Vocab, loaded.Vocab);
        Assert.Equal(SmallBpe.Tokenizer.Merges, loaded.Merges);
        Assert.Equal(SmallBpe.Tokenizer.SpecialTokens, loaded.SpecialTokens);
        Assert.Equal(SmallBpe.Tokenizer.EndOfTextId, loaded.EndOfTextId);
    }

    [DataFact("tinyshakespeare")]
    public void MergesWrittenAsPairsAreReadToo()
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        SmallBpe.Tokenizer.Save(directory.Path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        var merges = json["model"]!["merges"]!.AsArray();
        var pairs = new JsonArray(merges.Select(m => (JsonNode)new JsonArray(m!.GetValue<string>().Split(' ').Select(p => (JsonNode)p!).ToArray())).ToArray());
        json["model"]!["merges"] = pairs;
        File.WriteAllText(path, json.ToJsonString());

        Assert.Equal(SmallBpe.Tokenizer.Merges, HuggingFaceTokenizerJson.Load(path).Merges);
    }

    [DataTheory("tinyshakespeare")]
    [InlineData("pre_tokenizer", """{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}""")]
    [InlineData("normalizer", """{"type":"NFC"}""")]
    public void OptionsOurEncoderWouldNotHonourAreRejected(string property, string value)
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        SmallBpe.Tokenizer.Save(directory.Path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        json[property] = JsonNode.Parse(value);
        File.WriteAllText(path, json.ToJsonString());

        var error = Assert.Throws<InvalidInputException>(() => HuggingFaceTokenizerJson.Load(path));
        Assert.Contains(path, error.Message);
    }

    [DataFact("tinyshakespeare")]
    public void MergeOfUnknownTokensIsRejectedNamingTheFile()
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        SmallBpe.Tokenizer.Save(directory.Path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        json["model"]!["merges"]!.AsArray().Add("nosuch token");
        File.WriteAllText(path, json.ToJsonString());

        var error = Assert.Throws<InvalidInputException>(() => HuggingFaceTokenizerJson.Load(path));
        Assert.StartsWith($"{path}: merge {SmallBpe.Tokenizer.Merges.Count} ", error.Message);
    }
}
