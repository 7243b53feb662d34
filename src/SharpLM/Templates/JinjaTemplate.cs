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

    /// <summary>What errors call the template, e.g. "tokenizer_config.json: chat_template".</summary>
    public string SourceName { get; }

    /// <summary>The template's text, as given.</summary>
    public string Source { get; }

    JinjaTemplate(string source, string sourceName, IReadOnlyList<Stmt> body)
    {
        Source = source;
        SourceName = sourceName;
        this.body = body;
    }

    /// <summary>Parses <paramref name="source"/>; <paramref name="sourceName"/> is how errors will name it.</summary>
    /// <exception cref="InvalidInputException">A syntax error, or an unknown filter or test: "{sourceName} line N: problem".</exception>
    public static JinjaTemplate Parse(string source, string sourceName)
    {
        try
        {
            return new JinjaTemplate(source, sourceName, TemplateParser.Parse(TemplateLexer.Tokenize(source)));
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
    public string Render(IReadOnlyDictionary<string, object?> variables) => TemplateRenderer.Render(body, variables, SourceName);
}
