namespace SharpLM.Utilization.Prompting;

/// <summary>One problem <see cref="PromptLint"/> found: where (1-based line), which check, and what.</summary>
public sealed record LintFinding(string File, int Line, string Check, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line}: {Check}: {Message}";
}

/// <summary>
/// Checks a <see cref="PromptFile"/> for the mistakes prompt-design guides warn about, each found where it is:
/// <list type="bullet">
/// <item><c>unbound-variable</c>: the input or context reads a variable the file does not declare, or a demonstration
/// lacks a field the input or target reads;</item>
/// <item><c>demonstration-format</c>: a demonstration's answer breaks the output constraints (not one of the choices,
/// too many or too few words, not JSON) — the model copies demonstrations before it obeys instructions;</item>
/// <item><c>no-output-format</c>: neither an output format for the model nor constraints to check answers by;</item>
/// <item><c>too-long</c>: the prompt, with its demonstrations and the longest demonstration's values as the input,
/// does not fit the model's context window (when one is given);</item>
/// <item><c>contradictory-constraints</c>: constraints no answer can meet (min_words above max_words, a choice outside
/// the word limits, a non-JSON choice with format json).</item>
/// </list>
/// </summary>
public static class PromptLint
{
    /// <summary>Every check, in the order findings are reported.</summary>
    public static readonly IReadOnlyList<string> Checks = ["unbound-variable", "demonstration-format", "no-output-format", "too-long", "contradictory-constraints"];

    /// <summary>The findings for <paramref name="prompt"/>, by line.</summary>
    /// <param name="prompt">The prompt file.</param>
    /// <param name="contextTokens">The model's context window in tokens; null skips the length check.</param>
    /// <param name="countTokens">Tokens in a text (the model's tokenizer); default: characters.</param>
    public static IReadOnlyList<LintFinding> Check(PromptFile prompt, int? contextTokens = null, Func<string, int>? countTokens = null)
    {
        var findings = new List<LintFinding>();
        void Add(int line, string check, string message) => findings.Add(new LintFinding(prompt.Path, line, check, message));

        // unbound-variable
        if (prompt.Variables is { } declared)
        {
            foreach (string key in new[] { "context", "input" })
            {
                string? template = key == "context" ? prompt.Context : prompt.Input;
                if (template is null) continue;
                foreach (string v in PromptTemplate.Variables(template, prompt.TemplateSource(key)).Where(v => !declared.Contains(v)))
                    Add(prompt.LineOf(key), "unbound-variable", $"{key} reads {{{{{v}}}}}, which is not among the declared variables ({string.Join(", ", declared)})");
            }
        }
        var inputFields = PromptTemplate.Variables(prompt.Input, prompt.TemplateSource("input"));
        var targetFields = PromptTemplate.Variables(prompt.Target, prompt.TemplateSource("target"));
        var demoFields = inputFields.Concat(targetFields).Distinct().ToList();
        foreach (var d in prompt.Demonstrations)
            foreach (string missing in demoFields.Where(f => !d.Fields.ContainsKey(f)))
                Add(d.Line, "unbound-variable", $"the demonstration has no '{missing}', which the {(inputFields.Contains(missing) ? "input" : "target")} reads");

        // demonstration-format
        if (prompt.Constraints is { } c)
            foreach (var d in prompt.Demonstrations.Where(d => targetFields.All(d.Fields.ContainsKey)))
            {
                string answer = PromptTemplate.Render(prompt.Target, PromptFile.Bind(d.Fields), prompt.TemplateSource("target")).Trim();
                if (c.Violation(answer) is { } problem) Add(d.Line, "demonstration-format", $"its answer '{answer}' {problem}");
            }

        // no-output-format
        if (string.IsNullOrWhiteSpace(prompt.OutputFormat) && prompt.Constraints is null)
            Add(prompt.LineOf("input"), "no-output-format", "the prompt never says what the answer should look like (add output_format, and constraints to check it)");

        // too-long
        if (contextTokens is int window)
        {
            countTokens ??= text => text.Length;
            var longest = prompt.Demonstrations.OrderByDescending(d => d.Fields.Values.Sum(v => v.Length)).FirstOrDefault();
            var variables = (prompt.Variables ?? inputFields.Concat(prompt.Context is null ? [] : PromptTemplate.Variables(prompt.Context, prompt.TemplateSource("context"))).ToList())
                .ToDictionary(v => v, v => longest?.Fields.GetValueOrDefault(v) ?? "", StringComparer.Ordinal);
            try
            {
                int tokens = countTokens(prompt.Render(variables));
                if (tokens > window) Add(prompt.LineOf("input"), "too-long", $"the prompt takes {tokens:N0} tokens with its demonstrations, more than the model's {window:N0}");
            }
            catch (InvalidInputException)
            {
                // A template reading a field nothing binds: unbound-variable has said so.
            }
        }

        // contradictory-constraints
        if (prompt.Constraints is { } k)
        {
            int line = prompt.LineOf("constraints");
            if (k.MinWords > k.MaxWords) Add(line, "contradictory-constraints", $"min_words {k.MinWords} is above max_words {k.MaxWords}");
            foreach (string choice in k.Choices ?? [])
            {
                int words = OutputConstraints.Words(choice);
                if (words > k.MaxWords) Add(line, "contradictory-constraints", $"the choice '{choice}' has {words} words, above max_words {k.MaxWords}");
                if (words < k.MinWords) Add(line, "contradictory-constraints", $"the choice '{choice}' has {words} words, below min_words {k.MinWords}");
                if (k.Format == "json" && !OutputConstraints.IsJson(choice)) Add(line, "contradictory-constraints", $"the choice '{choice}' is not JSON, but format is json");
            }
        }
        return findings.OrderBy(f => f.Line).ThenBy(f => Checks.ToList().IndexOf(f.Check)).ToList();
    }
}
