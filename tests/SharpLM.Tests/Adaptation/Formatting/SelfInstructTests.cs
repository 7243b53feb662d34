using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;

namespace SharpLM.Tests.Adaptation.Formatting;

public class SelfInstructTests
{
    static readonly string[] Pool =
    [
        "Give three tips for staying healthy.",
        "What are the three primary colors?",
        "Describe the structure of an atom.",
    ];

    static SelfInstructRejection? Check(string instruction, string output = "ok") =>
        new SelfInstructFilter { RequireOutput = true }.Check(new SelfInstructTask(instruction, "", output), Pool);

    [Fact]
    public void An_instruction_too_similar_to_the_pool_is_rejected_and_a_novel_one_kept()
    {
        var filter = new SelfInstructFilter();
        // ROUGE-L by hand: LCS 6 of 7 and 6 tokens → P 6/7, R 1, F 0.923 ≥ 0.7.
        var (reason, score) = filter.CheckWithScore(new SelfInstructTask("Give three tips for staying very healthy."), Pool);
        Assert.Equal(SelfInstructRejection.TooSimilar, reason);
        Assert.Equal(12.0 / 13, score, 9);
        // "What are the three primary colors of light?" vs the pool: LCS 6, lengths 8 and 6 → F = 2·0.75·1/1.75 = 0.857.
        Assert.Equal(SelfInstructRejection.TooSimilar, Check("What are the three primary colors of light?"));
        Assert.Null(Check("Write a short poem about the ocean at night."));
        // Just below 0.7: "Give three examples of healthy breakfast foods for children." vs tips: LCS "give three healthy" = 3,
        // P 3/9, R 3/6 → F 0.4: kept.
        Assert.Null(Check("Give three examples of healthy breakfast foods for children."));
    }

    [Theory]
    [InlineData("Draw a picture of a cat on a mat.", SelfInstructRejection.Blacklisted)]
    [InlineData("Describe what you see in this image please.", SelfInstructRejection.Blacklisted)]
    [InlineData("Tell me how to go to the station.", SelfInstructRejection.Blacklisted)]
    [InlineData("Plot the sales figures for last year.", SelfInstructRejection.Blacklisted)]
    [InlineData("Sort these numbers.", SelfInstructRejection.TooShort)]
    [InlineData("   ", SelfInstructRejection.Empty)]
    [InlineData("Write a program that prints the first ten primes.", SelfInstructRejection.WriteAProgram)]
    [InlineData("#Explain how rainbows form in the sky.", SelfInstructRejection.StartsWithPunctuation)]
    [InlineData("$Explain how rainbows form in the sky.", SelfInstructRejection.StartsWithPunctuation)]
    [InlineData("Élaborez un plan pour la semaine prochaine.", SelfInstructRejection.StartsWithNonAscii)]
    [InlineData("Give three tips for staying healthy.", SelfInstructRejection.Duplicate)]
    public void Heuristics_reject(string instruction, SelfInstructRejection expected)
    {
        Assert.Equal(expected, Check(instruction));
    }

    [Fact]
    public void Length_bounds_and_whole_word_keywords()
    {
        Assert.Equal(SelfInstructRejection.TooLong, Check(string.Join(' ', Enumerable.Repeat("word", 151))));
        Assert.Null(Check("Explain " + string.Join(' ', Enumerable.Repeat("word", 149)))); // 150 words: allowed
        Assert.Null(Check("Explain how a bitmap stores colours in memory.")); // "map" only as a whole word
        Assert.Null(Check("Explain briefly why the sky looks blue."));
        Assert.Equal(SelfInstructRejection.EmptyOutput, Check("Explain briefly why the sky looks blue.", output: " "));
    }

    [Fact]
    public void The_prompt_numbers_the_tasks_and_the_reply_parses_into_tasks()
    {
        string prompt = SelfInstructPrompt.Build([new("Name a fruit.", "", "Apple"), new("Translate to French.", "cat", "chat")]);
        Assert.Equal("Come up with a series of tasks:\n\nTask 1: Name a fruit.\nInput: <noinput>\nOutput: Apple\n\n"
            + "Task 2: Translate to French.\nInput: cat\nOutput: chat\n\nTask 3:", prompt);

        var tasks = SelfInstructPrompt.Parse(" List two prime numbers.\nInput: <noinput>\nOutput: 2 and 3\n\nTask 4: Reverse the string.\nInput: abc\nOutput: cba\n\nTask 5: Cut off", 3, truncated: true);
        Assert.Equal([new SelfInstructTask("List two prime numbers.", "", "2 and 3"), new SelfInstructTask("Reverse the string.", "abc", "cba")], tasks);
        Assert.Equal(3, SelfInstructPrompt.Parse("Task 3: A.\nTask 4: B.\nTask 5: C.", 3).Count);
    }

    [Fact]
    public async Task The_loop_adds_the_novel_instructions_and_counts_the_rejected_by_reason()
    {
        var seeds = Pool.Select(p => new SelfInstructTask(p, "", "answer")).ToArray();
        var client = new ScriptedChatClient(
            (" Write a haiku about autumn leaves falling.\nInput: <noinput>\nOutput: Leaves drift down.\n\n"
             + "Task 5: Give three tips for staying very healthy.\nInput: <noinput>\nOutput: Sleep.\n\n"
             + "Task 6: Draw a map of your town.\nInput: <noinput>\nOutput: -\n\n"
             + "Task 7: Convert the temperature to Celsius.\nInput: 212 F\nOutput: 100 C", ChatFinishReason.Stop),
            (" Write a haiku about autumn leaves falling.\nInput: <noinput>\nOutput: Again.\n\n"
             + "Task 5: Hi.\nOutput: x\n\nTask 6: Summarize the paragraph in one sentence.\nInput: The cat sat.\nOutput: A cat sat.\n\n"
             + "Task 7: Explain photosynthesis to a", ChatFinishReason.Length));

        var result = await SelfInstruct.RunAsync(client, seeds, new SelfInstructOptions { Seed = 3, TargetTasks = 10, MaxRequests = 2, TasksPerPrompt = 3 });

        Assert.Equal(2, result.Requests);
        Assert.Equal(
            ["Write a haiku about autumn leaves falling.", "Convert the temperature to Celsius.", "Summarize the paragraph in one sentence."],
            result.Generated.Select(t => t.Instruction));
        Assert.Equal(new SelfInstructTask("Convert the temperature to Celsius.", "212 F", "100 C"), result.Generated[1]);
        Assert.Equal(3, result.Kept);
        var byReason = result.RejectedByReason;
        Assert.Equal(1, byReason[SelfInstructRejection.TooSimilar]);
        Assert.Equal(1, byReason[SelfInstructRejection.Blacklisted]);
        Assert.Equal(1, byReason[SelfInstructRejection.Duplicate]);
        Assert.Equal(1, byReason[SelfInstructRejection.TooShort]);
        Assert.Equal(4, result.Rejected.Count); // the truncated last task is dropped, not counted

        // The first prompt shows the three seeds; the second may show a generated task (up to 2 of them).
        Assert.All(client.Prompts, p => Assert.StartsWith("Come up with a series of tasks:", p));
        Assert.EndsWith("Task 4:", client.Prompts[0]);
        Assert.All(Pool, s => Assert.Contains(s, client.Prompts[0]));
        Assert.Contains("Write a haiku about autumn leaves falling.", client.Prompts[1]);
        Assert.Equal(3L, client.Options[0]!.Seed);
    }

    [Fact]
    public async Task The_same_seed_and_replies_give_the_same_prompts()
    {
        var seeds = Enumerable.Range(0, 20).Select(i => new SelfInstructTask($"Seed instruction number {i} please do it.", "", "x")).ToArray();
        async Task<List<string>> Run(ulong seed)
        {
            var client = new ScriptedChatClient();
            await SelfInstruct.RunAsync(client, seeds, new SelfInstructOptions { Seed = seed, MaxRequests = 3, TargetTasks = 5 });
            return client.Prompts;
        }
        Assert.Equal(await Run(1), await Run(1));
        Assert.NotEqual(await Run(1), await Run(2));
    }
}
