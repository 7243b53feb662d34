using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;
using SharpLM.Tokenization;

namespace SharpLM.Tests.Adaptation.Alignment;

public class PreferenceDataTests
{
    static IReadOnlyList<PreferencePair> ReadLines(TempDirectory directory, string text, out int skipped)
    {
        string path = directory.File("file.jsonl");
        File.WriteAllText(path, text);
        return PreferenceData.Read(path, out skipped);
    }

    static InvalidInputException ReadError(string text)
    {
        using var directory = new TempDirectory();
        return Assert.Throws<InvalidInputException>(() => ReadLines(directory, text, out _));
    }

    [Fact]
    public void Explicit_prompt_form_reads_strings_and_message_lists()
    {
        using var directory = new TempDirectory();
        var pairs = ReadLines(directory, """
            {"prompt": "2+2?", "chosen": "4", "rejected": "5", "task": "add"}
            {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Name?"}], "chosen": [{"role": "assistant", "content": "Bob"}], "rejected": [{"role": "assistant", "content": "I won't say."}]}
            """, out int skipped);
        Assert.Equal(0, skipped);
        Assert.Equal(2, pairs.Count);
        Assert.Equal([Turn.User("2+2?")], pairs[0].Prompt);
        Assert.Equal(("4", "5", "add"), (pairs[0].Chosen, pairs[0].Rejected, pairs[0].Task));
        Assert.EndsWith("file.jsonl:1", pairs[0].Origin);
        Assert.Equal([Turn.System("Be brief."), Turn.User("Hi"), Turn.Assistant("Hello"), Turn.User("Name?")], pairs[1].Prompt);
        Assert.Equal(("Bob", "I won't say.", ""), (pairs[1].Chosen, pairs[1].Rejected, pairs[1].Task));
        Assert.EndsWith("file.jsonl:2", pairs[1].Origin);
    }

    [Fact]
    public void Implicit_prompt_form_takes_the_shared_turns_as_prompt()
    {
        using var directory = new TempDirectory();
        var pairs = ReadLines(directory, """
            {"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Sky colour?"}, {"role": "assistant", "content": "Blue"}], "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Sky colour?"}, {"role": "assistant", "content": "Green"}]}
            """, out _);
        var pair = Assert.Single(pairs);
        Assert.Equal([Turn.User("Hi"), Turn.Assistant("Hello"), Turn.User("Sky colour?")], pair.Prompt);
        Assert.Equal(("Blue", "Green"), (pair.Chosen, pair.Rejected));
    }

    [Fact]
    public void Hh_rlhf_transcripts_split_into_turns_with_multi_turn_context()
    {
        using var directory = new TempDirectory();
        var pairs = ReadLines(directory, """
            {"chosen": "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water and yeast.\n\nHuman: And then?  \n\nAssistant:  Let it rise, then bake it.", "rejected": "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water and yeast.\n\nHuman: And then?  \n\nAssistant: Eat it raw."}
            """, out int skipped);
        Assert.Equal(0, skipped);
        var pair = Assert.Single(pairs);
        Assert.Equal([Turn.User("How do I bake bread?"), Turn.Assistant("Mix flour, water and yeast."), Turn.User("And then?")], pair.Prompt);
        Assert.Equal(("Let it rise, then bake it.", "Eat it raw."), (pair.Chosen, pair.Rejected));
    }

    [Fact]
    public void Hh_rlhf_uses_the_chosen_context_and_joins_one_speakers_consecutive_turns()
    {
        using var directory = new TempDirectory();
        var pairs = ReadLines(directory, """
            {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello\n\nAssistant: there\n\nHuman: Bye\n\nAssistant: Goodbye", "rejected": "\n\nHuman: Hi\n\nAssistant: Yo\n\nHuman: Bye\n\nAssistant: Whatever"}
            """, out _);
        var pair = Assert.Single(pairs);
        Assert.Equal([Turn.User("Hi"), Turn.Assistant("Hello\n\nthere"), Turn.User("Bye")], pair.Prompt);
        Assert.Equal(("Goodbye", "Whatever"), (pair.Chosen, pair.Rejected));
    }

    [Fact]
    public void Hh_rlhf_pairs_with_identical_or_empty_replies_are_skipped_and_counted()
    {
        using var directory = new TempDirectory();
        var pairs = ReadLines(directory, """
            {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello", "rejected": "\n\nHuman: Hi\n\nAssistant: Hello "}
            {"chosen": "\n\nHuman: Hi\n\nAssistant: ", "rejected": "\n\nHuman: Hi\n\nAssistant: Hey"}
            {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away"}
            """, out int skipped);
        Assert.Equal(2, skipped);
        Assert.EndsWith("file.jsonl:3", Assert.Single(pairs).Origin);
    }

    [Fact]
    public void Identical_chosen_and_rejected_is_an_error_in_the_explicit_form()
    {
        var error = ReadError("""
            {"prompt": "a", "chosen": "b", "rejected": "c"}
            {"prompt": "a", "chosen": "b", "rejected": "c"}
            {"prompt": "a", "chosen": "same", "rejected": "same"}
            """);
        Assert.Contains("file.jsonl:3:", error.Message);
        Assert.Contains("same reply", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("""{"prompt": "a", "rejected": "c"}""", "chosen is missing")]
    [InlineData("""{"prompt": "a", "chosen": 4, "rejected": "c"}""", "chosen must be a string or a list of messages, not number")]
    [InlineData("""{"prompt": 1, "chosen": "b", "rejected": "c"}""", "prompt must be a string or a list of messages")]
    [InlineData("""{"prompt": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}], "chosen": "b", "rejected": "c"}""", "prompt must end with a user turn")]
    [InlineData("""{"prompt": "a", "chosen": "  ", "rejected": "c"}""", "chosen: empty reply")]
    [InlineData("""{"prompt": "a", "chosen": [{"role": "user", "content": "b"}], "rejected": "c"}""", "chosen must end with an assistant message")]
    [InlineData("""{"prompt": "a", "chosen": "b", "rejected": "c", "task": 3}""", "task must be a string")]
    [InlineData("""{"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}], "rejected": [{"role": "user", "content": "other"}, {"role": "assistant", "content": "c"}]}""", "share every turn")]
    [InlineData("""{"chosen": "no markers here", "rejected": "c"}""", "not an hh-rlhf transcript")]
    [InlineData("{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"", "not valid JSON")]
    public void Bad_records_name_file_and_line_in_one_line(string record, string problem)
    {
        var error = ReadError("{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n\n" + record + "\n");
        Assert.Contains("file.jsonl:3: ", error.Message);
        Assert.Contains(problem, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Write_then_read_round_trips_with_task_and_instance()
    {
        using var directory = new TempDirectory();
        PreferencePair[] pairs =
        [
            new([Turn.User("Reverse: cat")], "Answer: tac", "tac") { Task = "reverse", Instance = "reverse:word=cat" },
            new([Turn.System("sys"), Turn.User("q \"quoted\" ✓"), Turn.Assistant("a\nb"), Turn.User("again")], "yes", "no"),
        ];
        string path = directory.File("pairs.jsonl");
        PreferenceData.Write(path, pairs);
        Assert.StartsWith("""{"prompt":[{"role":"user","content":"Reverse: cat"}],"chosen":[{"role":"assistant","content":"Answer: tac"}],"rejected":[{"role":"assistant","content":"tac"}],"task":"reverse","instance":"reverse:word=cat"}""", File.ReadAllText(path));
        var read = PreferenceData.Read(path, out int skipped);
        Assert.Equal(0, skipped);
        Assert.Equal(pairs.Length, read.Count);
        for (int i = 0; i < pairs.Length; i++)
        {
            Assert.Equal(pairs[i].Prompt, read[i].Prompt);
            Assert.Equal((pairs[i].Chosen, pairs[i].Rejected, pairs[i].Task, pairs[i].Instance), (read[i].Chosen, read[i].Rejected, read[i].Task, read[i].Instance));
            Assert.Equal($"{path}:{i + 1}", read[i].Origin);
        }
    }

    [Fact]
    public void Gzipped_files_read_like_plain_ones()
    {
        using var directory = new TempDirectory();
        string path = directory.File("pairs.jsonl.gz");
        using (var gzip = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
            gzip.Write("{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n"u8);
        var pair = Assert.Single(PreferenceData.Read(path, out _));
        Assert.Equal(("b", "c"), (pair.Chosen, pair.Rejected));
    }

    [Fact]
    public void Encodable_keeps_only_pairs_the_tokenizer_can_encode()
    {
        var tokenizer = CharTokenizer.FromText("abcdefghijklmnopqrstuvwxyz \n").WithSpecialTokens(SpecialTokens.ChatMl);
        PreferencePair[] pairs =
        [
            new([Turn.User("hi")], "yes", "no"),
            new([Turn.User("hi")], "yes", "NO"),
            new([Turn.User("Hi")], "yes", "no"),
        ];
        var kept = PreferenceData.Encodable(pairs, ChatTemplate.Default, tokenizer, out int skipped);
        Assert.Equal(2, skipped);
        Assert.Same(pairs[0], Assert.Single(kept));
        var plain = CharTokenizer.FromText("abc");
        Assert.Throws<InvalidInputException>(() => PreferenceData.Encodable(pairs, ChatTemplate.Default, plain, out _));
    }

    [DataFact("hh-rlhf")]
    public void Hh_rlhf_harmless_test_reads_2308_pairs_and_skips_4_empty_replies()
    {
        var pairs = PreferenceData.Read("hh-rlhf", out int skipped);
        Assert.Equal(2308, pairs.Count);
        Assert.Equal(4, skipped);
        Assert.Equal(2312, pairs.Count + skipped);
        Assert.All(pairs, p =>
        {
            Assert.NotEmpty(p.Prompt);
            Assert.Equal(Roles.User, p.Prompt[^1].Role);
            Assert.Null(Conversation.Problem(p.Prompt));
            Assert.NotEqual(p.Chosen, p.Rejected);
            Assert.NotEmpty(p.Chosen);
            Assert.NotEmpty(p.Rejected);
        });
        Assert.Contains(pairs, p => p.Prompt.Count > 1);
        Assert.Contains("test.jsonl.gz:1", pairs[0].Origin);
    }
}
