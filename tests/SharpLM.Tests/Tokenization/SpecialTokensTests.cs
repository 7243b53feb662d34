using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class SpecialTokensTests
{
    static readonly CharTokenizer Chars = CharTokenizer.FromText("abc <|>\nimstartendoftxuserasi");

    [Fact]
    public void Chatml_tokens_encode_to_single_ids_after_the_char_vocabulary()
    {
        var tokenizer = Chars.WithSpecialTokens(SpecialTokens.ChatMl);
        int n = Chars.VocabSize;
        Assert.Equal(n + 3, tokenizer.VocabSize);
        Assert.Equal([n], tokenizer.Encode("<|im_start|>"));
        Assert.Equal([n + 1], tokenizer.Encode("<|im_end|>"));
        Assert.Equal(n + 2, tokenizer.EndOfTextId);
        Assert.Equal(n + 1, tokenizer.IdOf(SpecialTokens.ImEnd));
        Assert.Equal([n, n + 1, n + 2], ((AddedTokensTokenizer)tokenizer).AddedTokenIds);

        string text = "<|im_start|>user\nab<|im_end|>\n<|im_start|>a<|>c<|endoftext|>";
        int[] ids = tokenizer.Encode(text);
        Assert.Equal([n, .. Chars.Encode("user\nab"), n + 1, .. Chars.Encode("\n"), n, .. Chars.Encode("a<|>c"), n + 2], ids);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void Char_tokenizer_without_endoftext_has_no_end_of_text_and_plain_files_load_unchanged()
    {
        Assert.Null(Chars.WithSpecialTokens([SpecialTokens.ImStart]).EndOfTextId);
        using var directory = new TempDirectory();
        Chars.Save(directory.Path);
        Assert.IsType<CharTokenizer>(TokenizerFactory.Load(directory.Path));
    }

    [Fact]
    public void Added_tokens_survive_save_and_load_for_char_tokenizers()
    {
        var tokenizer = Chars.WithSpecialTokens(SpecialTokens.ChatMl);
        using var directory = new TempDirectory();
        tokenizer.Save(directory.Path);
        Assert.Contains("\"<|im_start|>\"", File.ReadAllText(TokenizerFile.PathIn(directory.Path)));

        var loaded = Assert.IsType<AddedTokensTokenizer>(TokenizerFactory.Load(directory.Path));
        string text = "<|im_start|>assistant\nabc<|im_end|><|endoftext|>";
        Assert.Equal(tokenizer.Encode(text), loaded.Encode(text));
        Assert.Equal(tokenizer.VocabSize, loaded.VocabSize);
        Assert.Equal(tokenizer.EndOfTextId, loaded.EndOfTextId);
        Assert.Equal(text, loaded.Decode(loaded.Encode(text)));
    }

    [DataFact("tinyshakespeare")]
    public void Bpe_gets_them_in_its_own_vocab_and_they_survive_save_and_load()
    {
        var bpe = SmallBpe.Tokenizer;
        var tokenizer = Assert.IsType<BpeTokenizer>(bpe.WithSpecialTokens(SpecialTokens.ChatMl));
        Assert.Equal(bpe.VocabSize + 2, tokenizer.VocabSize); // SmallBpe already has <|endoftext|>
        Assert.Equal(bpe.EndOfTextId, tokenizer.EndOfTextId);
        int imStart = tokenizer.IdOf(SpecialTokens.ImStart)!.Value;
        Assert.Equal([imStart], tokenizer.Encode("<|im_start|>"));

        using var directory = new TempDirectory();
        tokenizer.Save(directory.Path);
        var loaded = TokenizerFactory.Load(directory.Path);
        string text = "<|im_start|>user\nWhat light through yonder window breaks?<|im_end|>\n";
        Assert.Equal(tokenizer.Encode(text), loaded.Encode(text));
        Assert.Equal(imStart, loaded.IdOf(SpecialTokens.ImStart));
        Assert.Equal(text, loaded.Decode(loaded.Encode(text)));
    }

    [Fact]
    public void Gpt2_keeps_its_endoftext_id_and_appends_the_chat_tokens()
    {
        var tokenizer = Gpt2Tokenizer.Instance.WithSpecialTokens(SpecialTokens.ChatMl);
        Assert.Equal(50259, tokenizer.VocabSize);
        Assert.Equal(50256, tokenizer.EndOfTextId);
        Assert.Equal([50257, 31373, 50258], tokenizer.Encode("<|im_start|>hello<|im_end|>"));

        using var directory = new TempDirectory();
        tokenizer.Save(directory.Path);
        var loaded = TokenizerFactory.Load(directory.Path);
        Assert.Equal(50259, loaded.VocabSize);
        Assert.Equal("<|im_start|>hello<|im_end|>", loaded.Decode([50257, 31373, 50258]));
    }

    [Fact]
    public void A_malformed_added_tokens_field_is_an_error_naming_the_file()
    {
        using var directory = new TempDirectory();
        string path = TokenizerFile.PathIn(directory.Path);
        File.WriteAllText(path, """{"type": "char", "vocab": ["a", "b"], "added_tokens": ["<|x|>", 3]}""");
        var error = Assert.Throws<InvalidInputException>(() => TokenizerFactory.Load(directory.Path));
        Assert.StartsWith($"{path}: added_tokens[1]", error.Message);
    }
}

public class SpecialTokensHuggingFaceTests
{
    [DataFact("tinyshakespeare")]
    public void Hugging_face_tokenizers_reads_the_chat_tokens_from_our_file_with_the_same_ids()
    {
        var tokenizer = SmallBpe.Tokenizer.WithSpecialTokens(SpecialTokens.ChatMl);
        using var directory = new TempDirectory();
        tokenizer.Save(directory.Path);
        using var huggingFace = new Tokenizers.DotNet.Tokenizer(TokenizerFile.PathIn(directory.Path));
        string text = "<|im_start|>user\nWhat light?<|im_end|>\n<|im_start|>assistant\nYonder.<|im_end|>\n<|endoftext|>";
        Assert.Equal(tokenizer.Encode(text), huggingFace.Encode(text).Select(id => (int)id));
    }
}
