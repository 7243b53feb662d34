using System.Text.RegularExpressions;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// Rejects documents containing any term of a user-supplied block list (one term per line, case-insensitive).
/// Terms match whole words in space-delimited text; terms in CJK scripts, which have no word boundaries, match
/// as substrings.
/// </summary>
public sealed class KeywordFilter : IDocumentFilter
{
    readonly Regex pattern;

    /// <summary>
    /// A filter for <paramref name="blockedTerms"/>; each is trimmed, and blank terms and lines starting with '#'
    /// (comments) are skipped.
    /// </summary>
    /// <exception cref="InvalidInputException">No term is left.</exception>
    public KeywordFilter(IEnumerable<string> blockedTerms)
    {
        var terms = blockedTerms.Select(t => t.Trim()).Where(t => t.Length > 0 && !t.StartsWith('#')).Distinct().ToList();
        if (terms.Count == 0) throw new InvalidInputException("keyword filter: the block list is empty");
        var alternatives = terms.Select(t => t.EnumerateRunes().Any(Dedup.Shingles.IsCjk) ? Regex.Escape(t) : $@"\b{Regex.Escape(t)}\b");
        pattern = new Regex(string.Join('|', alternatives), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    /// <summary>A filter for the terms in the file at <paramref name="path"/>, one per line.</summary>
    /// <exception cref="InvalidInputException">The file does not exist or holds no term.</exception>
    public static KeywordFilter FromFile(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "block list not found");
        return new KeywordFilter(File.ReadLines(path));
    }

    /// <summary>"keywords", the name reports use.</summary>
    public string Name => "keywords";

    /// <summary>Keeps the document unchanged, or rejects it as "keyword_blocked" when any term occurs.</summary>
    public FilterResult Apply(Document document) =>
        pattern.IsMatch(document.Text) ? FilterResult.Reject("keyword_blocked") : FilterResult.Keep(document);
}
