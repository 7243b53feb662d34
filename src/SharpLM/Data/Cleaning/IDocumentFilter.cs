namespace SharpLM.Data.Cleaning;

/// <summary>
/// One block of the cleaning pipeline (datatrove-style): looks at a document and keeps it, keeps a modified copy,
/// or rejects it with a reason that the report counts.
/// </summary>
public interface IDocumentFilter
{
    /// <summary>Short name used in reports ("gopher_quality", …).</summary>
    string Name { get; }

    FilterResult Apply(Document document);
}

/// <summary>Outcome of a filter: <see cref="Kept"/> is the (possibly modified) document, or null with a reason.</summary>
public sealed record FilterResult(Document? Kept, string? Reason)
{
    public static FilterResult Keep(Document document) => new(document, null);
    public static FilterResult Reject(string reason) => new(null, reason);
}
