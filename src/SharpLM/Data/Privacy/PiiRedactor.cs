using System.Text;

namespace SharpLM.Data.Privacy;

/// <summary>
/// Replaces the PII that <see cref="PiiDetector"/> finds with typed placeholders. The default scheme is the
/// type's name in upper case inside angle brackets — &lt;EMAIL&gt;, &lt;PHONE&gt;, &lt;CN_MOBILE&gt;,
/// &lt;IPV4&gt;, &lt;IPV6&gt;, &lt;CREDIT_CARD&gt;, &lt;CN_ID&gt;, &lt;CREDENTIALS&gt; — the convention of
/// earlier pre-training PII pipelines (StarCoder's data used &lt;EMAIL&gt;, &lt;KEY&gt;, &lt;PASSWORD&gt;): plain
/// text that any tokenizer encodes, unlike "&lt;|...|&gt;", which reads as a tokenizer's special-token syntax. URL
/// credentials are replaced inside the URL: "https://&lt;CREDENTIALS&gt;@host/path". Pass a placeholder function
/// for another scheme; it is called once per type, when the redactor is built.
/// </summary>
public sealed class PiiRedactor
{
    static readonly IReadOnlyDictionary<PiiType, int> NoCounts = new Dictionary<PiiType, int>();

    readonly PiiDetector detector;
    readonly string[] placeholders;

    /// <summary>A redactor for the types <paramref name="options"/> enables (all when null).</summary>
    /// <param name="options">The types to redact; null redacts all.</param>
    /// <param name="placeholder">The replacement text of each type; null uses <see cref="DefaultPlaceholder"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="placeholder"/> returns null for a type.</exception>
    public PiiRedactor(PiiOptions? options = null, Func<PiiType, string>? placeholder = null)
    {
        detector = new PiiDetector(options);
        placeholder ??= DefaultPlaceholder;
        placeholders = Enum.GetValues<PiiType>()
            .Select(type => placeholder(type) ?? throw new ArgumentException($"the placeholder for {type} is null", nameof(placeholder)))
            .ToArray();
    }

    /// <summary>The type's placeholder in the default scheme, e.g. "&lt;EMAIL&gt;" or "&lt;CN_ID&gt;".</summary>
    public static string DefaultPlaceholder(PiiType type) => type switch
    {
        PiiType.Email => "<EMAIL>",
        PiiType.Phone => "<PHONE>",
        PiiType.ChineseMobile => "<CN_MOBILE>",
        PiiType.IPv4 => "<IPV4>",
        PiiType.IPv6 => "<IPV6>",
        PiiType.CreditCard => "<CREDIT_CARD>",
        PiiType.ChineseResidentId => "<CN_ID>",
        PiiType.UrlCredentials => "<CREDENTIALS>",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The text with every match replaced; the same string instance when there was nothing to replace.</summary>
    public RedactionResult Redact(string text)
    {
        var matches = detector.FindCandidates(text);
        if (matches is null) return new RedactionResult(text, NoCounts);

        var output = new StringBuilder(text.Length);
        var counts = new Dictionary<PiiType, int>();
        int copied = 0;
        foreach (var match in matches)
        {
            output.Append(text, copied, match.Start - copied).Append(placeholders[(int)match.Type]);
            copied = match.End;
            counts[match.Type] = counts.GetValueOrDefault(match.Type) + 1;
        }
        output.Append(text, copied, text.Length - copied);
        return new RedactionResult(output.ToString(), counts);
    }
}
