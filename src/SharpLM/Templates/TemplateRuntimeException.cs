namespace SharpLM.Templates;

/// <summary>
/// An error while rendering, raised where the line is not known (a filter, a comparison); the renderer catches it at
/// the statement or expression being evaluated and rethrows it as an <see cref="InvalidInputException"/> naming the
/// template and line.
/// </summary>
internal sealed class TemplateRuntimeException(string message) : Exception(message);

/// <summary>A template that does not parse, with the line of the offending token; <see cref="JinjaTemplate.Parse(string, string)"/>
/// rethrows it as an <see cref="InvalidInputException"/> naming the template.</summary>
internal sealed class TemplateSyntaxException(string message, int line) : Exception(message)
{
    /// <summary>The 1-based line of the template the error is on.</summary>
    public int Line { get; } = line;
}
