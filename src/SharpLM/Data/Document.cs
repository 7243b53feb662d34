namespace SharpLM.Data;

/// <summary>
/// One unit of training text with a stable id ("file", "file:line", or the input's own id) that says where it
/// came from, and the input's other fields (raw JSON values) carried through the pipeline unchanged.
/// </summary>
/// <param name="Id">The input record's own id, or else where the document came from ("file", "file:line", …).</param>
/// <param name="Text">The document's text.</param>
/// <param name="Metadata">The input record's other fields, field name to raw JSON value; null when there are none.</param>
public sealed record Document(string Id, string Text, IReadOnlyDictionary<string, string>? Metadata = null);
