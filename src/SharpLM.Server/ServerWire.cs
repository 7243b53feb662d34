using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpLM.Server;

// The OpenAI wire format as this server reads and writes it. Fields that take several JSON shapes (prompt, stop,
// messages, content) stay JsonElement and are checked in RequestReader, so a bad one gets a 400 that names it.

internal static class ServerJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

internal sealed record CompletionBody(
    string? Model, JsonElement Prompt, int? MaxTokens, double? Temperature, double? TopP, int? N, JsonElement Stop, long? Seed,
    int? Logprobs, bool? Echo, bool? Stream, StreamOptionsBody? StreamOptions);

internal sealed record ChatBody(
    string? Model, JsonElement Messages, int? MaxTokens, int? MaxCompletionTokens, double? Temperature, double? TopP, int? N,
    JsonElement Stop, long? Seed, bool? Logprobs, int? TopLogprobs, bool? Stream, StreamOptionsBody? StreamOptions, JsonElement Tools, JsonElement ToolChoice);

/// <summary><c>stream_options.include_usage</c>: a last chunk with no choices carries the usage.</summary>
internal sealed record StreamOptionsBody(bool? IncludeUsage);

internal sealed record UsageResult(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record CompletionResult(string Id, string Object, long Created, string Model, IReadOnlyList<CompletionChoiceResult> Choices, UsageResult? Usage = null);

internal sealed record CompletionChoiceResult(int Index, string Text, LogprobsResult? Logprobs, string? FinishReason);

internal sealed record LogprobsResult(
    IReadOnlyList<string> Tokens, IReadOnlyList<double?> TokenLogprobs, IReadOnlyList<Dictionary<string, double>?> TopLogprobs,
    IReadOnlyList<int> TextOffset);

internal sealed record ChatResult(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoiceResult> Choices, UsageResult? Usage = null);

internal sealed record ChatChoiceResult(int Index, ChatMessageResult? Message, ChatMessageResult? Delta, string? FinishReason, ChatLogprobsResult? Logprobs = null);

/// <summary>Chat's logprobs: one entry per generated token.</summary>
internal sealed record ChatLogprobsResult(IReadOnlyList<ChatTokenLogprob> Content);

/// <summary>A token with its log probability, UTF-8 bytes and most likely alternatives (each without alternatives of its own).</summary>
internal sealed record ChatTokenLogprob(string Token, double Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<ChatTokenLogprob>? TopLogprobs);

internal sealed record ChatMessageResult(string? Role, string? Content, IReadOnlyList<ToolCallResult>? ToolCalls = null);

/// <summary>One call in an assistant message; <c>index</c> is set in streamed deltas only. Arguments are a JSON string, as OpenAI sends them.</summary>
internal sealed record ToolCallResult(int? Index, string Id, string Type, FunctionCallResult Function);

internal sealed record FunctionCallResult(string Name, string Arguments);

internal sealed record ModelListResult(string Object, IReadOnlyList<ModelResult> Data);

internal sealed record ModelResult(string Id, string Object, long Created, string OwnedBy, int ContextLength);

internal sealed record HealthResult(string Status, IReadOnlyList<string> Models, int RequestsInFlight);

internal sealed record ErrorResult(ErrorDetail Error);

internal sealed record ErrorDetail(string Message, string Type, string? Param, string? Code = null);
