using SharpLM.Tests.Cli;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Tests.Utilization;

public class PromptLintTests
{
    const string Good = """
        description: Classify the sentiment of a movie review.
        output_format: Answer with one word, positive or negative.
        constraints: { choices: [positive, negative], max_words: 1 }
        variables: [review]
        demonstrations:
          - { review: "Loved it.", answer: positive }
          - { review: "Dull.", answer: negative }
        input: "Review: {{review}}\nSentiment:"
        target: "{{answer}}"
        """;

    static (PromptFile Prompt, string Path) Write(TempDirectory dir, string text, string name = "p.yaml")
    {
        string path = dir.File(name);
        File.WriteAllText(path, text);
        return (PromptFile.Load(path), path);
    }

    [Fact]
    public void A_well_made_prompt_renders_its_ingredients_in_order_and_has_no_findings()
    {
        using var dir = new TempDirectory();
        var (prompt, _) = Write(dir, Good);
        Assert.Empty(PromptLint.Check(prompt, contextTokens: 1000));
        Assert.Equal("Classify the sentiment of a movie review.\n\nAnswer with one word, positive or negative.\n\nReview: Loved it.\nSentiment: positive\n\n"
            + "Review: Dull.\nSentiment: negative\n\nReview: Great fun.\nSentiment:", prompt.Render(new Dictionary<string, string> { ["review"] = "Great fun." }));
    }

    [Fact]
    public void The_shipped_prompt_files_have_no_findings()
    {
        string folder = Path.Combine(TestData.RepositoryRoot, "prompts");
        var files = Directory.GetFiles(folder, "*.yaml");
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.Empty(PromptLint.Check(PromptFile.Load(f), contextTokens: 2048)));
    }

    [Theory]
    [InlineData("input: \"Review: {{review}} ({{year}})\\nSentiment:\"", 8, "unbound-variable", "input reads {{year}}, which is not among the declared variables (review)")]
    [InlineData("  - { text: \"Meh.\", answer: negative }", 6, "unbound-variable", "the demonstration has no 'review', which the input reads")]
    [InlineData("  - { review: \"Meh.\", answer: Negative! }", 6, "demonstration-format", "its answer 'Negative!' is not one of the choices (positive, negative)")]
    [InlineData("output_format: \"\"\nconstraints_removed: true", 0, "no-output-format", "the prompt never says what the answer should look like")]
    [InlineData("constraints: { choices: [positive, very negative], max_words: 1 }", 3, "contradictory-constraints", "the choice 'very negative' has 2 words, above max_words 1")]
    [InlineData("constraints: { min_words: 3, max_words: 1 }", 3, "contradictory-constraints", "min_words 3 is above max_words 1")]
    public void Each_seeded_mistake_is_found_on_its_line(string change, int line, string check, string message)
    {
        using var dir = new TempDirectory();
        string text = change switch
        {
            _ when change.StartsWith("input:") => Good.Replace("input: \"Review: {{review}}\\nSentiment:\"", change),
            _ when change.StartsWith("  - ") => Good.Replace("demonstrations:\n", "demonstrations:\n" + change + "\n"),
            _ when change.StartsWith("output_format") => string.Join("\n", Good.Split('\n').Where(l => !l.StartsWith("output_format") && !l.StartsWith("constraints"))),
            _ => Good.Replace("constraints: { choices: [positive, negative], max_words: 1 }", change),
        };
        var (prompt, path) = Write(dir, text);
        var findings = PromptLint.Check(prompt);
        var finding = Assert.Single(findings, f => f.Check == check && f.Message.Contains(message));
        Assert.Equal(line == 0 ? prompt.LineOf("input") : line, finding.Line);
        Assert.StartsWith($"{path}:{finding.Line}: {check}: ", finding.ToString());
    }

    [Fact]
    public void A_prompt_longer_than_the_window_is_found_counting_with_the_given_tokenizer()
    {
        using var dir = new TempDirectory();
        var (prompt, _) = Write(dir, Good);
        var finding = Assert.Single(PromptLint.Check(prompt, contextTokens: 40));
        Assert.Equal("too-long", finding.Check);
        Assert.Equal(prompt.LineOf("input"), finding.Line);
        // Counting words instead of characters, the same prompt fits.
        Assert.Empty(PromptLint.Check(prompt, contextTokens: 40, countTokens: t => t.Split(' ', '\n').Length));
    }

    [Fact]
    public void Output_constraints_say_how_an_answer_breaks_them()
    {
        var choices = new OutputConstraints { Choices = ["positive", "negative"], MaxWords = 1 };
        Assert.Null(choices.Violation(" positive "));
        Assert.Equal("is not one of the choices (positive, negative)", choices.Violation("Positive"));
        var words = new OutputConstraints { MinWords = 2, MaxWords = 3 };
        Assert.Equal("has 1 words, below min_words 2", words.Violation("one"));
        Assert.Equal("has 4 words, above max_words 3", words.Violation("one two three four"));
        Assert.Equal("is not JSON, but format is json", new OutputConstraints { Format = "json" }.Violation("{oops"));
        Assert.Null(new OutputConstraints { Format = "json" }.Violation("{\"label\": 1}"));
    }

    [Fact]
    public void Prompt_run_answers_with_a_checkpoint_and_checks_the_answer_against_the_constraints()
    {
        using var dir = new TempDirectory();
        string baseDir = SharpLM.Tests.Adaptation.InstructionTuning.SftRunTests.SaveBase(dir);
        var (_, free) = Write(dir, "output_format: Anything.\ninput: \"the {{x}}\"\n", "free.yaml");
        var run = CliProcess.Run("prompt", "run", free, "--var", "x=quick", "--model", "checkpoint:" + baseDir, "--max-tokens", "5");
        Assert.True(run.ExitCode == 0, run.Stderr);
        // The untrained model cannot answer "yes" or "no": the violation is reported and the exit code says so.
        var (_, strict) = Write(dir, "output_format: yes or no.\nconstraints: { choices: [\"yes\", \"no\"] }\ninput: \"the {{x}}\"\n", "strict.yaml");
        var checkedRun = CliProcess.Run("prompt", "run", strict, "--var", "x=quick", "--model", "checkpoint:" + baseDir, "--max-tokens", "5");
        Assert.Equal(1, checkedRun.ExitCode);
        Assert.Contains("the answer is not one of the choices (yes, no)", checkedRun.Stderr);
    }

    [Fact]
    public void Malformed_prompt_files_get_one_line_errors_naming_file_and_line()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.yaml");
        File.WriteAllText(path, "description: fine\ninput: \"Q: {{q}}\nexamples: [1, 2\n");
        var syntax = Assert.Throws<InvalidInputException>(() => PromptFile.Load(path));
        Assert.StartsWith($"{path}:", syntax.Message);
        Assert.DoesNotContain('\n', syntax.Message);
        File.WriteAllText(path, "description: fine\nexamples: []\ninput: q\n");
        Assert.Equal($"{path}:2: unknown key 'examples' (expected description, output_format, constraints, context, variables, demonstrations, input, target)",
            Assert.Throws<InvalidInputException>(() => PromptFile.Load(path)).Message);
        File.WriteAllText(path, "description: no input\n");
        Assert.Equal($"{path}: input: required (the query template)", Assert.Throws<InvalidInputException>(() => PromptFile.Load(path)).Message);
    }

    [Fact]
    public void Prompt_lint_on_the_command_line_prints_file_line_check_and_exits_1_when_anything_is_found()
    {
        using var dir = new TempDirectory();
        var (_, good) = Write(dir, Good, "good.yaml");
        var (_, bad) = Write(dir, Good.Replace("answer: negative", "answer: Negative!"), "bad.yaml");
        var clean = CliProcess.Run("prompt", "lint", good);
        Assert.Equal(0, clean.ExitCode);
        Assert.Contains("no problems found", clean.Stderr);
        var found = CliProcess.Run("prompt", "lint", good, bad);
        Assert.Equal(1, found.ExitCode);
        Assert.Equal($"{bad}:7: demonstration-format: its answer 'Negative!' is not one of the choices (positive, negative)", found.Stdout.Trim());
    }
}
