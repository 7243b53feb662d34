namespace SharpLM.Data;

/// <summary>
/// One unit of training text with a stable id ("file", "file:line", or the input's own id) that says where it
/// came from, and the input's other fields (raw JSON values) carried through the pipeline unchanged.
/// </summary>
public sealed record Document(string Id, string Text, IReadOnlyDictionary<string, string>? Metadata = null);
