namespace SharpLM.Data.Cleaning;

/// <summary>Settings of the C4 rules (Raffel et al. 2020, section 2.2; as datatrove's C4QualityFilter).</summary>
public sealed record C4Options
{
    /// <summary>Lines must end in terminal punctuation (. ! ? " and the CJK 。！？」).</summary>
    public bool RequireTerminalPunctuation { get; init; } = true;
    /// <summary>Lines with fewer words are dropped (CJK characters count as words, so CJK lines need this many characters).</summary>
    public int MinWordsPerLine { get; init; } = 3;
    /// <summary>Documents with fewer sentences left are rejected.</summary>
    public int MinSentences { get; init; } = 5;
    /// <summary>Lines mentioning "javascript" (any case) are dropped.</summary>
    public bool DropJavascriptLines { get; init; } = true;
    /// <summary>Lines mentioning terms of use, a privacy or cookie policy, or cookies are dropped.</summary>
    public bool DropPolicyLines { get; init; } = true;
    /// <summary>Documents containing "lorem ipsum" (placeholder text) are rejected.</summary>
    public bool RejectLoremIpsum { get; init; } = true;
    /// <summary>Documents containing '{' (most likely code) are rejected.</summary>
    public bool RejectCurlyBraces { get; init; } = true;
}

/// <summary>
/// C4's line-level cleaning: keeps lines that end like sentences, drops lines mentioning JavaScript or cookie and
/// privacy boilerplate, rejects placeholder text and code (curly braces), and rejects what is left if it has too few
/// sentences. Unlike the other filters it can return a shortened document.
/// </summary>
public sealed class C4QualityFilter : IDocumentFilter
{
    static readonly string[] Terminal = { ".", "!", "?", "\"", "”", "。", "！", "？", "」", "』" };
    static readonly string[] Policy = { "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies" };
    readonly C4Options o;

    /// <summary>A filter with <paramref name="options"/>, or C4's defaults when null.</summary>
    public C4QualityFilter(C4Options? options = null) => o = options ?? new C4Options();

    /// <summary>"c4", the name reports use.</summary>
    public string Name => "c4";

    /// <summary>
    /// The document with only its kept lines (trimmed, joined by '\n'), or a rejection: "c4_lorem_ipsum",
    /// "c4_curly_brace" or "c4_too_few_sentences".
    /// </summary>
    public FilterResult Apply(Document document)
    {
        string lower = document.Text.ToLowerInvariant();
        if (o.RejectLoremIpsum && lower.Contains("lorem ipsum", StringComparison.Ordinal)) return FilterResult.Reject("c4_lorem_ipsum");
        if (o.RejectCurlyBraces && lower.Contains('{')) return FilterResult.Reject("c4_curly_brace");

        var kept = new List<string>();
        int sentences = 0;
        foreach (string raw in document.Text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0) continue;
            string lowerLine = line.ToLowerInvariant();
            if (o.RequireTerminalPunctuation && !Terminal.Any(t => line.EndsWith(t, StringComparison.Ordinal))) continue;
            if (new TextStatistics(line).WordCount < o.MinWordsPerLine) continue;
            if (o.DropJavascriptLines && lowerLine.Contains("javascript", StringComparison.Ordinal)) continue;
            if (o.DropPolicyLines && Policy.Any(p => lowerLine.Contains(p, StringComparison.Ordinal))) continue;
            kept.Add(line);
            sentences += Math.Max(1, line.Count(c => c is '.' or '!' or '?' or '。' or '！' or '？'));
        }
        if (sentences < o.MinSentences) return FilterResult.Reject("c4_too_few_sentences");
        return FilterResult.Keep(document with { Text = string.Join('\n', kept) });
    }
}
