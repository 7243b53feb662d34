using SharpLM.Adaptation.Formatting;
using SharpLM.Tokenization;

namespace SharpLM.Tests.Adaptation.Formatting;

public class ChatTemplateTests
{
    static readonly Turn[] TwoTurns =
    [
        Turn.System("Be brief."),
        Turn.User("Hi"),
        Turn.Assistant("Hello!"),
        Turn.User("Bye"),
        Turn.Assistant("Bye."),
    ];

    [Fact]
    public void Renders_chatml_literally()
    {
        var rendered = ChatTemplate.Default.Render(TwoTurns);
        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            + "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\nBye.<|im_end|>\n", rendered.Text);
    }

    [Fact]
    public void Add_generation_prompt_appends_the_assistant_header_as_hugging_face_does()
    {
        var rendered = ChatTemplate.Default.Render([Turn.User("What is 2+2?")], addGenerationPrompt: true);
        Assert.Equal("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", rendered.Text);
        Assert.Empty(rendered.AssistantSpans);
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n", ChatTemplate.Default.Render([Turn.User("Hi")]).Text);
    }

    [Fact]
    public void Assistant_spans_cover_exactly_each_reply_and_its_im_end()
    {
        var rendered = ChatTemplate.Default.Render(TwoTurns);
        // By hand: "<|im_start|>system\nBe brief.<|im_end|>\n" is 12+7+9+10+1 = 39 characters, the user turn
        // "<|im_start|>user\nHi<|im_end|>\n" 12+5+2+10+1 = 30, the header "<|im_start|>assistant\n" 22.
        Assert.Equal(new TextSpan(39 + 30 + 22, 16), rendered.AssistantSpans[0]);
        int second = 39 + 30 + 22 + 16 + 1 + 31 + 22;
        Assert.Equal(new TextSpan(second, 14), rendered.AssistantSpans[1]);
        Assert.Equal(["Hello!<|im_end|>", "Bye.<|im_end|>"], rendered.AssistantTexts);
        Assert.Equal(2, rendered.AssistantSpans.Count);
        Assert.False(rendered.IsTrained(second - 1));  // the newline of the header
        Assert.False(rendered.IsTrained(second + 14)); // the newline after <|im_end|>
    }

    [Fact]
    public void Token_mask_trains_on_assistant_content_and_im_end_only()
    {
        var tokenizer = CharTokenizer.FromText("abcdefghijklmnopqrstuvwxyzBHy!. \n").WithSpecialTokens(SpecialTokens.ChatMl);
        var chat = ChatTemplate.Default.Tokenize(tokenizer, TwoTurns);
        Assert.Equal(tokenizer.Encode(ChatTemplate.Default.Render(TwoTurns).Text), chat.Ids); // char level: piecewise = whole
        var trained = chat.Ids.Where((_, i) => chat.Trained[i]).ToArray();
        Assert.Equal("Hello!<|im_end|>Bye.<|im_end|>", tokenizer.Decode(trained));
        Assert.Equal(6 + 1 + 4 + 1, chat.TrainedCount);
    }

    [Fact]
    public void Tokenizing_without_the_special_tokens_is_an_error()
    {
        var tokenizer = CharTokenizer.FromText("<|>imstartendusrH\n");
        var error = Assert.Throws<InvalidInputException>(() => ChatTemplate.Default.Tokenize(tokenizer, [Turn.User("H")]));
        Assert.Contains("<|im_start|>", error.Message);
    }

    [Fact]
    public void Default_system_message_is_added_only_when_there_is_none()
    {
        var template = new ChatTemplate { DefaultSystemMessage = "You are a helpful assistant." };
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            template.Render([Turn.User("Hi")], addGenerationPrompt: true).Text);
        Assert.StartsWith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user", template.Render(TwoTurns).Text);
    }

    [Fact]
    public void Chatml_text_parses_back_to_the_same_messages()
    {
        Assert.Equal(TwoTurns, ChatTemplate.Parse(ChatTemplate.Default.Render(TwoTurns).Text));
        var multiline = new[] { Turn.User("line one\nline two\n"), Turn.Assistant("") };
        Assert.Equal(multiline, ChatTemplate.Parse(ChatTemplate.Default.Render(multiline).Text));

        var turns = ChatTemplate.Parse(ChatTemplate.Default.Render([Turn.User("Hi")], addGenerationPrompt: true).Text, out bool prompt);
        Assert.True(prompt);
        Assert.Equal([Turn.User("Hi")], turns);
    }

    [Theory]
    [InlineData("hello", "expected <|im_start|> at character 0")]
    [InlineData("<|im_start|>user", "no newline after its role")]
    [InlineData("<|im_start|>user\nHi", "has no <|im_end|>")]
    [InlineData("<|im_start|>user\nHi<|im_end|>x", "expected a newline after <|im_end|> at character 29")]
    public void Malformed_chatml_is_an_error_saying_where(string text, string expected)
    {
        Assert.Contains(expected, Assert.Throws<InvalidInputException>(() => ChatTemplate.Parse(text)).Message);
    }

    [Fact]
    public void Template_is_saved_beside_the_tokenizer_and_a_directory_without_one_gets_chatml()
    {
        using var directory = new TempDirectory();
        Assert.Same(ChatTemplate.Default, ChatTemplate.Load(directory.Path));
        var template = new ChatTemplate { DefaultSystemMessage = "Answer in one word." };
        template.Save(directory.Path);
        Assert.Equal(template, ChatTemplate.Load(directory.Path));

        File.WriteAllText(ChatTemplate.PathIn(directory.Path), """{"format": "llama2"}""");
        var error = Assert.Throws<InvalidInputException>(() => ChatTemplate.Load(directory.Path));
        Assert.StartsWith($"{ChatTemplate.PathIn(directory.Path)}: format", error.Message);
        File.WriteAllText(ChatTemplate.PathIn(directory.Path), """{"format": "chatml", "sytem": "x"}""");
        Assert.StartsWith(ChatTemplate.PathIn(directory.Path), Assert.Throws<InvalidInputException>(() => ChatTemplate.Load(directory.Path)).Message);
    }
}
