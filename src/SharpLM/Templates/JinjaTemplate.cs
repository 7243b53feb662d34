namespace SharpLM.Templates;

/// <summary>
/// A Jinja template, parsed once and rendered many times, with the semantics of jinja2 as Hugging Face transformers
/// configures it for chat templates (<c>ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)</c>, the
/// loop-controls extension, its own <c>tojson</c> and <c>raise_exception</c>): the subset of Jinja real chat templates
/// use (the same ground llama.cpp's minja covers), rendered byte for byte as jinja2 renders it. Errors — a template
/// that does not parse, an unknown filter, a runtime failure, or the template's own <c>raise_exception</c> — are
/// <see cref="InvalidInputException"/>s whose one-line message names the template and the line.
/// </summary>
public sealed class JinjaTemplate
{
    readonly IReadOnlyList<Stmt> body;
    readonly TemplateDialect dialect;

    /// <summary>What errors call the template, e.g. "tokenizer_config.json: chat_template".</summary>
    public string SourceName { get; }

    /// <summary>The template's text, as given.</summary>
    public string Source { get; }

    JinjaTemplate(string source, string sourceName, IReadOnlyList<Stmt> body, TemplateDialect dialect)
    {
        Source = source;
        SourceName = sourceName;
        this.body = body;
        this.dialect = dialect;
        Variables = TemplateVariables.Read(body);
    }

    /// <summary>
    /// The variables the template reads from outside (those it does not set itself, nor a global such as
    /// <c>namespace</c>), in order of first use: what a caller must supply, so a lint can say a field is missing before
    /// anything renders (jinja2's <c>meta.find_undeclared_variables</c>).
    /// </summary>
    public IReadOnlyList<string> Variables { get; }

    /// <summary>A Jinja string literal of <paramref name="text"/>: single-quoted, with Python's escapes for what cannot stand in it.</summary>
    public static string Quote(string text) =>
        "'" + text.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "'";

    /// <summary>Parses <paramref name="source"/> as a chat template; <paramref name="sourceName"/> is how errors will name it.</summary>
    /// <exception cref="InvalidInputException">A syntax error, or an unknown filter or test: "{sourceName} line N: problem".</exception>
    public static JinjaTemplate Parse(string source, string sourceName) => Parse(source, sourceName, TemplateDialect.HuggingFace);

    /// <summary>Parses <paramref name="source"/> under <paramref name="dialect"/>'s settings and filters.</summary>
    /// <exception cref="InvalidInputException">A syntax error, or an unknown filter or test: "{sourceName} line N: problem".</exception>
    internal static JinjaTemplate Parse(string source, string sourceName, TemplateDialect dialect)
    {
        try
        {
            return new JinjaTemplate(source, sourceName, TemplateParser.Parse(TemplateLexer.Tokenize(source, dialect), dialect), dialect);
        }
        catch (TemplateSyntaxException e)
        {
            throw new InvalidInputException($"{sourceName} line {e.Line}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Renders with <paramref name="variables"/>, whose values are in the model of <see cref="TemplateValues"/>
    /// (null, bool, long, double, string, <see cref="List{T}"/> of object, <see cref="OrderedDictionary{TKey, TValue}"/>
    /// keyed by string, or <see cref="TemplateFunction"/>; <see cref="TemplateValues.FromJson(System.Text.Json.Nodes.JsonNode?)"/>
    /// converts JSON). A variable not given is undefined, as in jinja2.
    /// </summary>
    /// <exception cref="InvalidInputException">A runtime error or the template's <c>raise_exception(message)</c>: "{SourceName} line N: message".</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables) => TemplateRenderer.Render(body, variables, SourceName, dialect);

    /// <summary>The expression of a template that is exactly one <c>{{ expression }}</c>, else null: such a template
    /// can stand for a value (a list of choices, an index) rather than text.</summary>
    internal Expr? SingleExpression => body is [PrintStmt print] ? print.Value : null;

    /// <summary>The value of <paramref name="expression"/> (from <see cref="SingleExpression"/>) with <paramref name="variables"/>.</summary>
    /// <exception cref="InvalidInputException">A runtime error: "{SourceName} line N: message".</exception>
    internal object? Evaluate(Expr expression, IReadOnlyDictionary<string, object?> variables) =>
        TemplateRenderer.Evaluate(expression, variables, SourceName, dialect);
}
