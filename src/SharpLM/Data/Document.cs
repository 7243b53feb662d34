namespace SharpLM.Data;

/// <summary>One unit of training text with a stable id ("file", "file:line") that says where it came from.</summary>
public sealed record Document(string Id, string Text);
