using SharpLM.Adaptation.Formatting;

namespace SharpLM.Tests.Adaptation.Formatting;

public class ChatDataReaderTests
{
    [DataFact("alpaca")]
    public void Alpaca_file_reads_200_records_with_their_fields()
    {
        string path = TestData.Path("alpaca/alpaca_data_first200.json");
        var records = AlpacaFormat.Read(path);
        Assert.Equal(200, records.Count);
        Assert.Equal("Give three tips for staying healthy.", records[0].Instruction);
        Assert.Equal("", records[0].Input);
        Assert.StartsWith("1.Eat a balanced diet", records[0].Output);
        Assert.Equal("The three primary colors are red, blue, and yellow.", records[1].Output);
        Assert.Contains(records, r => r.Input.Length > 0);

        var conversations = ChatDataReader.Read(path);
        Assert.Equal(200, conversations.Count);
        var withInput = records.Select((r, i) => (r, i)).First(x => x.r.Input.Length > 0);
        Assert.Equal([Turn.User($"{withInput.r.Instruction}\n\n{withInput.r.Input}"), Turn.Assistant(withInput.r.Output)], conversations[withInput.i].Turns);
    }

    [Fact]
    public void Sharegpt_and_messages_round_trip_through_each_other()
    {
        using var directory = new TempDirectory();
        string shareGpt = directory.File("chat.jsonl");
        File.WriteAllText(shareGpt,
            """
            {"id": "a", "conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello, ünïcode ✓"}]}

            {"conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}, {"from": "human", "value": "and 3+3?"}, {"from": "gpt", "value": "6\nsix"}]}
            """);
        var read = ChatDataReader.Read(shareGpt);
        Assert.Equal(2, read.Count);
        Assert.Equal("Be kind.", read[0].System);
        Assert.Equal([Turn.User("2+2?"), Turn.Assistant("4"), Turn.User("and 3+3?"), Turn.Assistant("6\nsix")], read[1].Turns);

        string messages = directory.File("messages.jsonl");
        ChatDataReader.WriteJsonl(messages, read, ChatDataFormat.Messages);
        Assert.Contains("\"role\":\"assistant\"", File.ReadAllText(messages));
        var viaMessages = ChatDataReader.Read(messages);
        Assert.Equal(read, viaMessages);

        string back = directory.File("back.jsonl");
        ChatDataReader.WriteJsonl(back, viaMessages, ChatDataFormat.ShareGpt);
        Assert.Equal(read, ChatDataReader.Read(back, ChatDataFormat.ShareGpt));
        Assert.Contains("\"from\":\"gpt\"", File.ReadAllText(back));
    }

    [Fact]
    public void A_json_array_reads_like_jsonl()
    {
        using var directory = new TempDirectory();
        string path = directory.File("chat.json");
        File.WriteAllText(path, """
            [
              {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
              {"messages": [{"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}
            ]
            """);
        var read = ChatDataReader.Read(path);
        Assert.Equal([Turn.User("c"), Turn.Assistant("d")], read[1].Turns);
    }

    [Theory]
    [InlineData("{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}, {\"from\": \"gpt\", \"value\": \"y\"}]}\n{\"conversations\": [{\"from\": \"human\"", 2, "not valid JSON")]
    [InlineData("\n\n{\"conversations\": [{\"from\": \"human\"}]}", 3, "conversations[0].value is missing")]
    [InlineData("{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}, {\"from\": \"bot\", \"value\": \"y\"}]}", 1, "conversations[1].from: unknown role 'bot'")]
    [InlineData("{\"conversations\": []}", 1, "conversations: empty conversation")]
    [InlineData("{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}, {\"from\": \"human\", \"value\": \"y\"}]}", 1, "conversations: turn 1: expected assistant, got user")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": 3}]}", 1, "messages[0].content must be a string")]
    [InlineData("{\"messages\": [{\"role\": \"human\", \"content\": \"x\"}]}", 1, "messages[0].role: unknown role 'human'")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"system\", \"content\": \"y\"}]}", 1, "turn 1: a system message may only come first")]
    [InlineData("{\"instruction\": \"Do it.\", \"input\": \"\"}", 1, "output is missing")]
    [InlineData("{\"text\": \"hello\"}", 1, "cannot tell the format")]
    public void Malformed_chat_files_give_one_line_errors_naming_file_line_and_field(string content, int line, string problem)
    {
        using var directory = new TempDirectory();
        string path = directory.File("bad.jsonl");
        File.WriteAllText(path, content);
        var error = Assert.Throws<InvalidInputException>(() => ChatDataReader.Read(path));
        Assert.StartsWith($"{path}:{line}: ", error.Message);
        Assert.Contains(problem, error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Fact]
    public void A_record_in_a_json_array_is_reported_by_the_line_it_starts_on()
    {
        using var directory = new TempDirectory();
        string path = directory.File("alpaca.json");
        File.WriteAllText(path, "[\n  {\"instruction\": \"a\", \"output\": \"b\"},\n  {\"instruction\": \"c\"}\n]");
        var error = Assert.Throws<InvalidInputException>(() => AlpacaFormat.Read(path));
        Assert.Equal($"{path}:3: output is missing", error.Message);
    }

    [Fact]
    public void An_empty_file_is_an_error()
    {
        using var directory = new TempDirectory();
        string path = directory.File("empty.jsonl");
        File.WriteAllText(path, "\n");
        Assert.StartsWith(path, Assert.Throws<InvalidInputException>(() => ChatDataReader.Read(path)).Message);
    }
}
