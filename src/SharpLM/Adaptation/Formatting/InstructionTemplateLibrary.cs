namespace SharpLM.Adaptation.Formatting;

/// <summary>The instruction templates that ship with SharpLM (<c>instruction_templates/*.yaml</c>, embedded).</summary>
public static class InstructionTemplateLibrary
{
    const string ResourcePrefix = "SharpLM.InstructionTemplates.";

    /// <summary>Names of the built-in templates, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = typeof(InstructionTemplateLibrary).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Select(n => n[ResourcePrefix.Length..^".yaml".Length])
        .Order(StringComparer.Ordinal).ToArray();

    /// <summary>A built-in template by name, or a template file by path.</summary>
    /// <exception cref="InvalidInputException">Neither a file nor a built-in name; or the file is invalid.</exception>
    public static InstructionTemplate Resolve(string nameOrPath)
    {
        if (File.Exists(nameOrPath)) return InstructionTemplate.Load(nameOrPath);
        using var stream = typeof(InstructionTemplateLibrary).Assembly.GetManifestResourceStream($"{ResourcePrefix}{nameOrPath}.yaml")
            ?? throw new InvalidInputException($"instruction template '{nameOrPath}': no such file or built-in template (built-in: {string.Join(", ", Names)})");
        return InstructionTemplate.Parse(new StreamReader(stream).ReadToEnd(), $"{nameOrPath}.yaml");
    }
}
