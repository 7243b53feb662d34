using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace SharpLM.Inference;

/// <summary>
/// How tools appear in a chat model's text, in the Hermes / Qwen2.5 convention most open chat models are trained on:
/// the system message lists the tools as JSON schemas inside &lt;tools&gt;…&lt;/tools&gt;; the assistant calls one by
/// writing <c>&lt;tool_call&gt;{"name": …, "arguments": {…}}&lt;/tool_call&gt;</c>; a result comes back in the next user
/// turn as <c>&lt;tool_response&gt;…&lt;/tool_response&gt;</c>. Kept as text (no new special tokens), so any tokenizer
/// can encode it and a model learns it by ordinary SFT on such conversations.
/// </summary>
public static class ToolCallFormat
{
    /// <summary>
    /// JSON as a model reads and writes it: "1+2" stays "1+2". The default encoder escapes +, &lt;, &gt;, &amp; and '
    /// for embedding in HTML ("1\u002B2"), which a model would have to learn to write, and copy, in six characters.
    /// </summary>
    public static readonly JsonSerializerOptions AsWritten = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Opens a tool call in the assistant's text.</summary>
    public const string CallOpen = "<tool_call>";
    /// <summary>Closes a tool call.</summary>
    public const string CallClose = "</tool_call>";
    /// <summary>Opens a tool's result in a user turn.</summary>
    public const string ResponseOpen = "<tool_response>";
    /// <summary>Closes a tool's result.</summary>
    public const string ResponseClose = "</tool_response>";

    /// <summary>What the system message says about <paramref name="tools"/> (their names, descriptions and parameter schemas).</summary>
    public static string Instructions(IEnumerable<AITool> tools)
    {
        var text = new StringBuilder("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n")
            .Append("You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
        foreach (var tool in tools)
        {
            var function = new JsonObject { ["name"] = tool.Name, ["description"] = tool.Description };
            if (tool is AIFunctionDeclaration f) function["parameters"] = JsonNode.Parse(f.JsonSchema.GetRawText());
            text.Append('\n').Append(new JsonObject { ["type"] = "function", ["function"] = function }.ToJsonString(AsWritten));
        }
        return text.Append("\n</tools>\n\nFor each function call, return a json object with function name and arguments within ")
            .Append($"{CallOpen}{CallClose} XML tags:\n{CallOpen}\n{{\"name\": <function-name>, \"arguments\": <args-json-object>}}\n{CallClose}").ToString();
    }

    /// <summary>A call as the assistant writes it.</summary>
    public static string Render(FunctionCallContent call) =>
        $"{CallOpen}\n{new JsonObject { ["name"] = call.Name, ["arguments"] = Arguments(call) }.ToJsonString(AsWritten)}\n{CallClose}";

    /// <summary>A call's arguments as one JSON object (OpenAI's wire format sends it as a string).</summary>
    public static JsonObject Arguments(FunctionCallContent call)
    {
        var arguments = new JsonObject();
        foreach (var (key, value) in call.Arguments ?? new Dictionary<string, object?>())
            arguments[key] = value is JsonElement e ? JsonNode.Parse(e.GetRawText()) : JsonSerializer.SerializeToNode(value);
        return arguments;
    }

    /// <summary>A result as the next user turn carries it.</summary>
    public static string Render(FunctionResultContent result) => $"{ResponseOpen}\n{ResultText(result)}\n{ResponseClose}";

    /// <summary>A tool's result as text: a string as it is, anything else as JSON.</summary>
    public static string ResultText(FunctionResultContent result) => result.Result switch
    {
        null => "",
        string s => s,
        JsonElement e when e.ValueKind == JsonValueKind.String => e.GetString()!,
        JsonElement e => e.GetRawText(),
        var other => JsonSerializer.Serialize(other),
    };

    /// <summary>
    /// The calls in a generated reply, and the text around them. A block whose JSON does not parse, or has no "name",
    /// stays in the text (and is counted in <c>Malformed</c>): the caller can show it to the model as an observation.
    /// </summary>
    public static (string Text, IReadOnlyList<FunctionCallContent> Calls, int Malformed) Parse(string reply)
    {
        var calls = new List<FunctionCallContent>();
        var text = new StringBuilder();
        int malformed = 0, at = 0;
        while (true)
        {
            int open = reply.IndexOf(CallOpen, at, StringComparison.Ordinal);
            int close = open < 0 ? -1 : reply.IndexOf(CallClose, open + CallOpen.Length, StringComparison.Ordinal);
            if (open < 0 || close < 0)
            {
                text.Append(reply[at..]);
                if (open >= 0) malformed++; // opened, never closed
                break;
            }
            text.Append(reply[at..open]);
            string json = reply[(open + CallOpen.Length)..close].Trim();
            if (ParseCall(json, $"call_{calls.Count}") is { } call) calls.Add(call);
            else
            {
                malformed++;
                text.Append(reply[open..(close + CallClose.Length)]);
            }
            at = close + CallClose.Length;
        }
        return (text.ToString().Trim(), calls, malformed);
    }

    static FunctionCallContent? ParseCall(string json, string callId)
    {
        try
        {
            if (JsonNode.Parse(json) is not JsonObject o || o["name"]?.GetValueKind() != JsonValueKind.String) return null;
            var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
            switch (o["arguments"])
            {
                case null: break;
                case JsonObject args:
                    foreach (var (key, value) in args) arguments[key] = value is null ? null : JsonSerializer.SerializeToElement(value);
                    break;
                default: return null;
            }
            return new FunctionCallContent(callId, o["name"]!.GetValue<string>(), arguments);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
