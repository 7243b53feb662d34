using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SharpLM.Tokenization;
using SharpLM.Tokenization.HuggingFace;
using HfOracle = Tokenizers.DotNet.Tokenizer;
using Ml = Microsoft.ML.Tokenizers;

namespace SharpLM.Tests.Tokenization;

/// <summary>
/// Hugging Face tokenizer.json files in the layouts real models use (<see cref="HfFixtures"/>) must give the ids
/// Hugging Face's own Rust library gives (through Tokenizers.DotNet 1.4.1, tokenizers 0.22.2, which always encodes
/// with add_special_tokens=True and decodes with skip_special_tokens=True), and decode as it does.
/// </summary>
public class HuggingFaceTokenizerTests
{
    /// <summary>About 1 MB of mixed text in all, split over the layouts (the 10 MB run is the benchmark's).</summary>
    const int CharsPerKind = 170_000;

    static int[] Ours(ITokenizer tokenizer, string text) =>
        tokenizer is HuggingFaceTokenizer hf ? hf.Encode(text, addSpecialTokens: true) : tokenizer.Encode(text);

    static int[] Oracle(HfOracle oracle, string text) => oracle.Encode(text).Select(id => (int)id).ToArray();

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void EncodesMixedTextToTheIdsOfHuggingFaceTokenizers(string kind)
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write(kind, directory.Path);
        var ours = HuggingFaceTokenizer.Load(path);
        using var oracle = new HfOracle(path);

        int documents = 0, tokens = 0;
        foreach (string text in MixedText.Documents(seed: kind.Length * 7 + 3, CharsPerKind))
        {
            int[] expected = Oracle(oracle, text);
            int[] actual = ours.Encode(text, addSpecialTokens: true);
            if (!expected.SequenceEqual(actual))
                Assert.Fail($"{kind}: ids differ for {Escape(text)}\nexpected {string.Join(",", expected)}\nactual   {string.Join(",", actual)}");
            documents++;
            tokens += actual.Length;
        }
        Assert.True(documents > 50 && tokens > 20_000, $"{documents} documents, {tokens} tokens");
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void DecodesAsHuggingFaceTokenizersDoes(string kind)
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write(kind, directory.Path);
        var ours = HuggingFaceTokenizer.Load(path);
        using var oracle = new HfOracle(path);
        var random = new Random(11);

        foreach (string text in MixedText.Documents(seed: 40 + kind.Length, 60_000))
        {
            int[] ids = ours.Encode(text, addSpecialTokens: true);
            Assert.Equal(oracle.Decode(ids.Select(i => (uint)i).ToArray()), ours.Decode(ids, skipSpecialTokens: true));
            // Arbitrary id sequences too: cut byte sequences, stray byte tokens, specials anywhere.
            int[] noise = Enumerable.Range(0, random.Next(1, 30)).Select(_ => random.Next(ours.VocabSize)).ToArray();
            Assert.Equal(oracle.Decode(noise.Select(i => (uint)i).ToArray()), ours.Decode(noise, skipSpecialTokens: true));
        }
    }

    public static TheoryData<string> AllKinds() => new(HfFixtures.Kinds);

    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt2-prefix-space")]
    [InlineData("llama3")]
    public void ByteLevelFilesRoundTripExactly(string kind)
    {
        using var directory = new TempDirectory();
        var ours = HuggingFaceTokenizer.Load(HfFixtures.Write(kind, directory.Path));
        foreach (string text in MixedText.Documents(seed: 5, 50_000))
        {
            // add_prefix_space puts a space before each stretch that lacks one; the decoder keeps it, as Hugging Face's does.
            string decoded = ours.Decode(ours.Encode(text));
            if (kind == "gpt2-prefix-space") Assert.Equal(text.Replace(" ", ""), decoded.Replace(" ", ""));
            else Assert.Equal(text, decoded);
        }
    }

    [Fact]
    public void AnAddedTokenWhoseTextLooksLikeByteSymbolsDecodesAsHuggingFaceDecodesIt()
    {
        // Qwen2's fixture adds "naïve" (normalized, so NFD input matches after NFC). The ByteLevel decoder reads its
        // 'ï' as the byte symbol for 0xEF, so it decodes to "na\uFFFDve" — Hugging Face's result, not a round trip.
        using var directory = new TempDirectory();
        string path = HfFixtures.Write("qwen2", directory.Path);
        var ours = HuggingFaceTokenizer.Load(path);
        using var oracle = new HfOracle(path);
        int[] ids = ours.Encode("a nai\u0308ve b");

        Assert.Contains(ours.SpecialTokenIds["naïve"], ids);
        Assert.Equal(Oracle(oracle, "a nai\u0308ve b"), ids);
        Assert.Equal(oracle.Decode(ids.Select(i => (uint)i).ToArray()), ours.Decode(ids));
        Assert.Equal("a na\uFFFDve b", ours.Decode(ids));
    }

    [Fact]
    public void Llama3AddsBeginOfTextOnlyWhenSpecialTokensAreRequested()
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write("llama3", directory.Path);
        var ours = HuggingFaceTokenizer.Load(path);
        using var oracle = new HfOracle(path);
        int bos = ours.SpecialTokenIds["<|begin_of_text|>"];

        int[] plain = ours.Encode("Hello world");
        int[] withSpecials = ours.Encode("Hello world", addSpecialTokens: true);

        Assert.Equal(new[] { bos }.Concat(plain), withSpecials);
        Assert.Equal(Oracle(oracle, "Hello world"), withSpecials);
        // A rendered chat prompt that already starts with the token gets it once, as apply_chat_template does.
        Assert.Equal(bos, ours.Encode("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>")[0]);
        Assert.Equal(1, ours.Encode("<|begin_of_text|>Hi").Count(id => id == bos));
    }

    [Fact]
    public void WithoutTheTemplateOurPlainEncodeEqualsHuggingFaceWithoutAPostProcessor()
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write("llama3", directory.Path);
        var ours = HuggingFaceTokenizer.Load(path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        json["post_processor"] = null;
        string bare = Path.Combine(directory.Path, "bare.json");
        File.WriteAllText(bare, json.ToJsonString());
        using var oracle = new HfOracle(bare);

        foreach (string text in MixedText.Documents(seed: 9, 40_000))
            Assert.Equal(Oracle(oracle, text), ours.Encode(text));
    }

    [Fact]
    public void IgnoreMergesMakesAWholeWordInTheVocabOneToken()
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write("llama3", directory.Path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        json["model"]!["ignore_merges"] = false;
        string mergedPath = Path.Combine(directory.Path, "merged.json");
        File.WriteAllText(mergedPath, json.ToJsonString());
        var ignoring = HuggingFaceTokenizer.Load(path);
        var merging = HuggingFaceTokenizer.Load(mergedPath);
        using var oracleIgnoring = new HfOracle(path);
        using var oracleMerging = new HfOracle(mergedPath);

        foreach (string word in HfFixtures.WholeWordTokens)
        {
            Assert.Single(ignoring.Encode(word));
            Assert.True(merging.Encode(word).Length > 1, $"'{word}' needs several tokens without ignore_merges");
            Assert.Equal(Oracle(oracleIgnoring, word).Skip(1), ignoring.Encode(word));
            Assert.Equal(Oracle(oracleMerging, word).Skip(1), merging.Encode(word));
        }
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("llama2")]
    [InlineData("mistral")]
    [InlineData("qwen2")]
    public void LoneSurrogatesEncodeAsReplacementCharacterWhichHuggingFaceCannotBeGiven(string kind)
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write(kind, directory.Path);
        var ours = HuggingFaceTokenizer.Load(path);
        using var oracle = new HfOracle(path);
        string[] texts = ["a\uD800b", "\uDC00", "x \uD83D", "\uDE00y", "ok \uD83D\uDE00 \uD83D", "\uDBFF\uDBFF\uDFFF"];

        foreach (string text in texts)
        {
            // Tokenizers.DotNet refuses the string (Rust's String::from_utf16 fails); we encode U+FFFD, which is
            // what marshalling the string to UTF-8 gives, and what Hugging Face gives for that text.
            Assert.ThrowsAny<Exception>(() => oracle.Encode(text));
            string replaced = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
            Assert.Equal(Oracle(oracle, replaced), ours.Encode(text, addSpecialTokens: true));
        }
    }

    [Fact]
    public void Gpt2LayoutGivesTheIdsOfMicrosoftMlTokenizersToo()
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write("gpt2", directory.Path);
        var ours = HuggingFaceTokenizer.Load(path);
        JsonNode model = JsonNode.Parse(File.ReadAllText(path))!["model"]!;
        var vocab = model["vocab"]!.AsObject().Select(p => KeyValuePair.Create(p.Key, p.Value!.GetValue<int>())).ToList();
        var specials = new Dictionary<string, int> { ["<|endoftext|>"] = ours.SpecialTokenIds["<|endoftext|>"] };
        var microsoft = Ml.BpeTokenizer.Create(new Ml.BpeOptions(vocab)
        {
            Merges = model["merges"]!.AsArray().Select(m => m!.GetValue<string>()),
            ByteLevel = true,
            PreTokenizer = new Ml.RegexPreTokenizer(new Regex(GptPreTokenizer.Pattern), specials),
            SpecialTokens = specials,
        });

        foreach (string document in MixedText.Documents(seed: 21, 60_000))
        {
            // Microsoft's pre-tokenizer is the .NET regex, which misreads letters beyond the BMP; compare the rest.
            string text = new(document.Where(c => !char.IsSurrogate(c)).ToArray());
            Assert.Equal(microsoft.EncodeToIds(text), ours.Encode(text));
        }
    }

    [Fact]
    public void FactoryLoadsGpt2LayoutAsBefore_AndOtherLayoutsAsHuggingFaceTokenizer()
    {
        using var directory = new TempDirectory();
        foreach (string kind in HfFixtures.Kinds)
        {
            string path = HfFixtures.Write(kind, directory.Path);
            ITokenizer loaded = TokenizerFactory.Load(path);
            if (kind == "gpt2") Assert.IsType<BpeTokenizer>(loaded);
            else Assert.IsType<HuggingFaceTokenizer>(loaded);
            var direct = HuggingFaceTokenizer.Load(path);
            foreach (string text in MixedText.Documents(seed: 3, 20_000))
                Assert.Equal(direct.Encode(text), loaded.Encode(text));
        }
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void SavesTheFileBackByteForByte(string kind)
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write(kind, directory.Path);
        var loaded = HuggingFaceTokenizer.Load(path);
        using var saved = new TempDirectory();
        loaded.Save(saved.Path);

        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(TokenizerFile.PathIn(saved.Path)));
        var reloaded = TokenizerFactory.Load(saved.Path);
        string text = MixedText.Generate(seed: 8, 5_000);
        Assert.Equal(loaded.Encode(text), reloaded.Encode(text));
    }

    [Fact]
    public void EndOfTextIsEachLayoutsDocumentSeparator()
    {
        using var directory = new TempDirectory();
        var expected = new Dictionary<string, string>
        {
            ["gpt2-prefix-space"] = "<|endoftext|>", ["llama3"] = "<|end_of_text|>", ["qwen2"] = "<|endoftext|>",
            ["llama2"] = "</s>", ["mistral"] = "</s>",
        };
        foreach (var (kind, token) in expected)
        {
            var tokenizer = HuggingFaceTokenizer.Load(HfFixtures.Write(kind, directory.Path));
            Assert.Equal(tokenizer.SpecialTokenIds[token], tokenizer.EndOfTextId);
        }
    }

    [Theory]
    [InlineData("model", """{"type":"Unigram","vocab":[]}""", "model.type 'Unigram' is not supported (supported: BPE)")]
    [InlineData("model", """{"type":"WordPiece","vocab":{}}""", "model.type 'WordPiece' is not supported (supported: BPE)")]
    [InlineData("normalizer", """{"type":"Lowercase"}""", "normalizer.type 'Lowercase' is not supported")]
    [InlineData("pre_tokenizer", """{"type":"Whitespace"}""", "pre_tokenizer.type 'Whitespace' is not supported")]
    [InlineData("pre_tokenizer", """{"type":"Split","pattern":{"Regex":"\\d+"},"behavior":"Isolated","invert":false}""", "pre_tokenizer.pattern: regex")]
    [InlineData("decoder", """{"type":"WordPiece","prefix":"##"}""", "decoder.type 'WordPiece' is not supported")]
    [InlineData("post_processor", """{"type":"BertProcessing"}""", "post_processor.type 'BertProcessing' is not supported")]
    [InlineData("truncation", """{"max_length":512}""", "truncation must be null")]
    public void UnsupportedComponentsAreRefusedNamingFileAndField(string property, string value, string message)
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write("llama3", directory.Path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        json[property] = JsonNode.Parse(value);
        File.WriteAllText(path, json.ToJsonString());

        var error = Assert.Throws<InvalidInputException>(() => TokenizerFactory.Load(path));
        Assert.StartsWith($"{path}: ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("dropout", "0.1", "model.dropout must be null")]
    [InlineData("continuing_subword_prefix", "\"##\"", "model.continuing_subword_prefix is not supported")]
    [InlineData("unk_token", "\"<nope>\"", "model.unk_token '<nope>' is not in model.vocab")]
    public void UnsupportedModelOptionsAreRefused(string property, string value, string message)
    {
        using var directory = new TempDirectory();
        string path = HfFixtures.Write("mistral", directory.Path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        json["model"]![property] = JsonNode.Parse(value);
        File.WriteAllText(path, json.ToJsonString());

        var error = Assert.Throws<InvalidInputException>(() => TokenizerFactory.Load(path));
        Assert.StartsWith($"{path}: {message}", error.Message);
    }

    static string Escape(string text) =>
        string.Concat(text.Take(300).Select(c => c < 32 || char.IsSurrogate(c) || c > 126 ? $"\\u{(int)c:X4}" : c.ToString()));

    [Fact]
    public void Special_tokens_added_for_fine_tuning_go_into_the_files_own_added_tokens_and_hugging_face_reads_them()
    {
        using var directory = new TempDirectory();
        var tokenizer = HuggingFaceTokenizer.Load(HfFixtures.Write("llama3", directory.Path));
        var grown = (HuggingFaceTokenizer)tokenizer.WithSpecialTokens(["<|im_start|>", "<|im_end|>"]);
        Assert.Equal(tokenizer.VocabSize + 2, grown.VocabSize);
        string saved = directory.File("saved");
        Directory.CreateDirectory(saved);
        grown.Save(saved);
        var reloaded = TokenizerFactory.Load(saved);
        string text = "<|im_start|>user\nhi there<|im_end|>";
        Assert.Equal(grown.Encode(text), reloaded.Encode(text));
        Assert.Equal(tokenizer.VocabSize, reloaded.Encode("<|im_start|>")[0]);
        // Hugging Face's own library reads the file and gives the same ids (with its default BOS).
        using var oracle = new HfOracle(TokenizerFile.PathIn(saved));
        Assert.Equal(grown.Encode(text, addSpecialTokens: true), oracle.Encode(text).Select(i => (int)i).ToArray());
    }
}
