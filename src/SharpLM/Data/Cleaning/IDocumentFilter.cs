namespace SharpLM.Data.Cleaning;

/// <summary>
/// One block of the cleaning pipeline (datatrove-style): looks at a document and keeps it, keeps a modified copy,
/// or rejects it with a reason that the report counts.
/// </summary>
public interface IDocumentFilter
{
    /// <summary>Short name used in reports ("gopher_quality", …).</summary>
    string Name { get; }

    /// <summary>Judges one document. The pipeline calls this for many documents at once, from several threads.</summary>
    FilterResult Apply(Document document);
}

/// <summary>Outcome of a filter: <see cref="Kept"/> is the (possibly modified) document, or null with a reason.</summary>
/// <param name="Kept">The document to pass on, possibly modified; null when rejected.</param>
/// <param name="Reason">Why the document was rejected (a snake_case key the report counts); null when kept.</param>
public sealed record FilterResult(Document? Kept, string? Reason)
{
    /// <summary>Passes <paramref name="document"/> on.</summary>
    public static FilterResult Keep(Document document) => new(document, null);
    /// <summary>Drops the document for <paramref name="reason"/>.</summary>
    public static FilterResult Reject(string reason) => new(null, reason);
}
