namespace SharpLM.Templates;

/// <summary>
/// The environment settings a template is parsed and rendered under. Chat templates need jinja2 exactly as Hugging Face
/// transformers configures it (<see cref="HuggingFace"/>); task and prompt templates need it as lm-evaluation-harness
/// configures it (no block trimming, the final newline kept, undefined variables an error) plus their own filters. Keeping
/// the two apart is what lets prompt templates have extra filters without changing what a chat template renders.
/// </summary>
/// <param name="TrimBlocks">jinja2's <c>trim_blocks</c> and <c>lstrip_blocks</c> together: a block tag takes the newline after it and the indentation before it.</param>
/// <param name="KeepTrailingNewline">jinja2's <c>keep_trailing_newline</c>: when false one final newline of the source is dropped.</param>
/// <param name="StrictUndefined">jinja2's <c>StrictUndefined</c>: reading a variable, attribute or item that does not exist is an error
/// (except as the operand of <c>is defined</c>, <c>is undefined</c> and <c>default</c>), so a typo in a field name fails instead of printing "".</param>
/// <param name="Filters">Filters beyond jinja2's, by name: the value and the positional arguments give the result.</param>
internal sealed record TemplateDialect(bool TrimBlocks, bool KeepTrailingNewline, bool StrictUndefined,
    IReadOnlyDictionary<string, Func<object?, IReadOnlyList<object?>, object?>> Filters)
{
    /// <summary>transformers' chat-template environment: <c>trim_blocks=True, lstrip_blocks=True</c>, lenient undefined, jinja2's filters only.</summary>
    public static TemplateDialect HuggingFace { get; } = new(TrimBlocks: true, KeepTrailingNewline: false, StrictUndefined: false,
        new Dictionary<string, Func<object?, IReadOnlyList<object?>, object?>>());

    /// <summary>Whether <paramref name="name"/> is a filter here: jinja2's or one of <see cref="Filters"/>.</summary>
    public bool HasFilter(string name) => Filters.ContainsKey(name) || TemplateBuiltins.HasFilter(name);

    /// <summary>Applies the filter <paramref name="name"/>, this dialect's own before jinja2's.</summary>
    public object? ApplyFilter(string name, object? value, TemplateBuiltins.Args args) =>
        Filters.TryGetValue(name, out var filter) ? filter(value, args.Positional) : TemplateBuiltins.ApplyFilter(name, value, args);
}
