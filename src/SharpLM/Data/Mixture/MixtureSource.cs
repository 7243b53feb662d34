using System.Globalization;

namespace SharpLM.Data.Mixture;

/// <summary>
/// One input of a mixture: a name (written into every document's <c>source</c> field), a file, directory or glob
/// read with <see cref="Ingestion.CorpusReader"/>, and a weight. Weights are any positive numbers; the mixer
/// divides them by their sum, so 3 and 1 mean 75% and 25%.
/// </summary>
/// <param name="Name">The source's name, written into each of its documents' <c>source</c> field and the report.</param>
/// <param name="Path">A file, directory or glob of the source's documents.</param>
/// <param name="Weight">The source's relative share, any positive number.</param>
public sealed record MixtureSource(string Name, string Path, double Weight)
{
    /// <summary>
    /// Parses <c>NAME=PATH:WEIGHT</c>. The name ends at the first '=' and the weight starts after the last ':',
    /// so a path may hold both characters (URLs, Windows drives, timestamps in directory names).
    /// </summary>
    /// <exception cref="InvalidInputException">The text is not of that form, or the weight is not a positive number.</exception>
    public static MixtureSource Parse(string spec)
    {
        int equals = spec.IndexOf('=');
        int colon = spec.LastIndexOf(':');
        if (equals <= 0 || colon <= equals + 1 || colon == spec.Length - 1)
            throw new InvalidInputException($"source '{spec}': expected NAME=PATH:WEIGHT, e.g. web=data/web.jsonl:0.7");
        string weight = spec[(colon + 1)..];
        if (!double.TryParse(weight, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw new InvalidInputException($"source '{spec}': weight '{weight}' is not a number (NAME=PATH:WEIGHT)");
        var source = new MixtureSource(spec[..equals].Trim(), spec[(equals + 1)..colon], value);
        source.Validate();
        return source;
    }

    /// <exception cref="InvalidInputException">An empty name or path, or a weight that is not a positive finite number.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new InvalidInputException($"source '{Path}': the name is empty");
        if (string.IsNullOrWhiteSpace(Path)) throw new InvalidInputException($"source '{Name}': the path is empty");
        if (!double.IsFinite(Weight) || Weight <= 0)
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"source '{Name}': weight {Weight} must be a positive number"));
    }
}
