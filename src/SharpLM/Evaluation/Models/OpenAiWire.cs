using System.Text.Json;

namespace SharpLM.Evaluation.Models;

// The subset of the OpenAI wire format SharpLM sends and reads. Response fields are nullable: what is required is
// checked where it is used, so a missing field is reported by name instead of turning into a default value.

internal sealed record CompletionRequest(
    string? Model, string Prompt, int MaxTokens, double Temperature, IReadOnlyList<string>? Stop = null, long? Seed = null,
    int? Logprobs = null, bool? Echo = null);

internal sealed record ChatRequest(
    string? Model, IReadOnlyList<ChatMessageWire> Messages, int? MaxTokens, double? Temperature, double? TopP,
    IReadOnlyList<string>? Stop, long? Seed, bool? Stream, IReadOnlyList<ToolWire>? Tools = null, object? ToolChoice = null);

/// <summary>A message; an assistant's may carry <c>tool_calls</c>, a tool's answers one by <c>tool_call_id</c>.</summary>
internal sealed record ChatMessageWire(string? Role, string? Content, IReadOnlyList<ToolCallWire>? ToolCalls = null, string? ToolCallId = null);

internal sealed record ToolWire(string Type, FunctionWire Function);

internal sealed record FunctionWire(string Name, string? Description, JsonElement Parameters);

/// <summary>A call; in a streamed delta, <c>index</c> says which call a fragment of arguments belongs to.</summary>
internal sealed record ToolCallWire(int? Index, string? Id, string? Type, FunctionCallWire? Function);

internal sealed record FunctionCallWire(string? Name, string? Arguments);

internal sealed record CompletionResponse(IReadOnlyList<CompletionChoice>? Choices, JsonElement? Error);

internal sealed record CompletionChoice(string? Text, CompletionLogprobs? Logprobs);

internal sealed record CompletionLogprobs(
    IReadOnlyList<string>? Tokens, IReadOnlyList<double?>? TokenLogprobs,
    IReadOnlyList<Dictionary<string, double>?>? TopLogprobs, IReadOnlyList<int>? TextOffset);

/// <summary>A chat completion, or one chunk of a streamed one (which carries <c>delta</c> instead of <c>message</c>).</summary>
internal sealed record ChatResponseWire(string? Id, string? Model, IReadOnlyList<ChatChoiceWire>? Choices, JsonElement? Error);

internal sealed record ChatChoiceWire(ChatMessageWire? Message, ChatMessageWire? Delta, string? FinishReason);
