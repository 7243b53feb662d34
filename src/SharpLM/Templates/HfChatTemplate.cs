using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Runtime;

namespace SharpLM.Templates;

/// <summary>One message of a conversation, as a chat template sees it (<c>message.role</c>, <c>message.content</c>, …).</summary>
/// <param name="Role">"system", "user", "assistant", "tool", or whatever the template knows.</param>
/// <param name="Content">The text; null leaves the key out, as an assistant message that only calls tools has none.</param>
public sealed record ChatTemplateMessage(string Role, string? Content)
{
    /// <summary>The assistant's tool calls as OpenAI/Hugging Face write them (<c>[{"type": "function", "function":
    /// {"name": …, "arguments": {…}}, "id": …}]</c>); null leaves the key out, which templates test with
    /// <c>'tool_calls' in message</c>.</summary>
    public JsonArray? ToolCalls { get; init; }

    /// <summary>For a tool result: the id of the call it answers; null leaves the key out.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>A message read from JSON such as <c>{"role": "user", "content": "Hi"}</c>.</summary>
    /// <exception cref="InvalidInputException">No string role, or a field of the wrong type; <paramref name="where"/> names the message.</exception>
    public static ChatTemplateMessage FromJson(JsonObject message, string where)
    {
        string role = message["role"] is JsonValue r && r.TryGetValue(out string? s) ? s : throw new InvalidInputException($"{where}: \"role\" must be a string");
        string? content = message["content"] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? text) => text,
            _ => throw new InvalidInputException($"{where}: \"content\" must be a string or null"),
        };
        return new ChatTemplateMessage(role, content)
        {
            ToolCalls = message["tool_calls"] switch
            {
                null => null,
                JsonArray calls => (JsonArray)calls.DeepClone(),
                _ => throw new InvalidInputException($"{where}: \"tool_calls\" must be a list"),
            },
            ToolCallId = message["tool_call_id"] switch
            {
                null => null,
                JsonValue v when v.TryGetValue(out string? id) => id,
                _ => throw new InvalidInputException($"{where}: \"tool_call_id\" must be a string"),
            },
        };
    }

    /// <summary>The message as the template's dict, keys in the order role, content, tool_calls, tool_call_id.</summary>
    internal OrderedDictionary<string, object?> ToValue()
    {
        var value = TemplateValues.NewDict();
        value["role"] = Role;
        if (Content is not null) value["content"] = Content;
        if (ToolCalls is not null) value["tool_calls"] = TemplateValues.FromJson(ToolCalls);
        if (ToolCallId is not null) value["tool_call_id"] = ToolCallId;
        return value;
    }
}

/// <summary>A character range [Start, Start + Length) of a rendered conversation (UTF-16 code units, as C# strings index).</summary>
public readonly record struct CharacterSpan(int Start, int Length)
{
    /// <summary>The first index after the range.</summary>
    public int End => Start + Length;
}

/// <summary>A conversation rendered by a chat template, with the spans of the assistant replies a supervised
/// fine-tuning loss is computed on.</summary>
public sealed record RenderedConversation(string Text, IReadOnlyList<CharacterSpan> AssistantSpans);

/// <summary>
/// The chat template of a Hugging Face tokenizer (<c>tokenizer_config.json</c>'s <c>chat_template</c>, a string or a
/// list of <c>{name, template}</c> of which "default" is used), rendered as transformers' <c>apply_chat_template</c>
/// does: variables <c>messages</c>, <c>tools</c> (None unless given), <c>documents</c> (None),
/// <c>add_generation_prompt</c>, and the special tokens the file names (<c>bos_token</c>, <c>eos_token</c>,
/// <c>unk_token</c>, <c>pad_token</c>; each a string or an AddedToken object with "content").
/// </summary>
public sealed class HfChatTemplate
{
    static readonly string[] specialTokenFields = ["bos_token", "eos_token", "unk_token", "pad_token"];

    readonly IReadOnlyDictionary<string, string> specialTokens;

    /// <summary>The parsed template; its <see cref="JinjaTemplate.SourceName"/> names the file and field in errors.</summary>
    public JinjaTemplate Template { get; }

    /// <summary>The special tokens passed to the template, by variable name ("bos_token" → "&lt;s&gt;").</summary>
    public IReadOnlyDictionary<string, string> SpecialTokens => specialTokens;

    /// <summary>A template from its text, with the special tokens it may use.</summary>
    /// <exception cref="InvalidInputException">The template does not parse; names <paramref name="sourceName"/> and the line.</exception>
    public HfChatTemplate(string template, string sourceName, IReadOnlyDictionary<string, string>? specialTokens = null)
    {
        Template = JinjaTemplate.Parse(template, sourceName);
        this.specialTokens = specialTokens ?? new Dictionary<string, string>();
    }

    /// <summary>The chat template of a tokenizer: <paramref name="path"/> is a <c>tokenizer_config.json</c> or the
    /// folder holding one.</summary>
    /// <exception cref="InvalidInputException">The file is missing or malformed, has no chat_template, or the
    /// template does not parse; names the file, the field and (for a template) the line.</exception>
    public static HfChatTemplate Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "tokenizer_config.json");
        using JsonDocument document = Json.ReadDocument(path);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw InvalidInputException.ForFile(path, "expected a JSON object");
        if (!root.TryGetProperty("chat_template", out JsonElement field) || field.ValueKind == JsonValueKind.Null)
            throw InvalidInputException.ForFile(path, "chat_template: missing (this tokenizer has no chat template)");
        string template = field.ValueKind switch
        {
            JsonValueKind.String => field.GetString()!,
            JsonValueKind.Array => DefaultOfList(field, path),
            _ => throw InvalidInputException.ForFile(path, $"chat_template: expected a string or a list of {{name, template}}, got {field.ValueKind}"),
        };
        var tokens = new Dictionary<string, string>();
        foreach (string name in specialTokenFields)
        {
            if (!root.TryGetProperty(name, out JsonElement token) || token.ValueKind == JsonValueKind.Null) continue;
            tokens[name] = token.ValueKind switch
            {
                JsonValueKind.String => token.GetString()!,
                JsonValueKind.Object when token.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String => content.GetString()!,
                _ => throw InvalidInputException.ForFile(path, $"{name}: expected a string or an object with a string \"content\""),
            };
        }
        return new HfChatTemplate(template, $"{path}: chat_template", tokens);
    }

    static string DefaultOfList(JsonElement list, string path)
    {
        int index = 0;
        foreach (JsonElement entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("template", out JsonElement template) || template.ValueKind != JsonValueKind.String)
                throw InvalidInputException.ForFile(path, $"chat_template[{index}]: expected {{\"name\": string, \"template\": string}}");
            if (name.GetString() == "default") return template.GetString()!;
            index++;
        }
        throw InvalidInputException.ForFile(path, "chat_template: the list has no template named \"default\"");
    }

    /// <summary>Renders <paramref name="messages"/>; with <paramref name="addGenerationPrompt"/> the text ends with
    /// what the template puts before an assistant reply. <paramref name="tools"/> are JSON schemas as transformers
    /// passes them.</summary>
    /// <exception cref="InvalidInputException">The template failed or called raise_exception; names the template and line.</exception>
    public string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt = false, JsonArray? tools = null)
    {
        var variables = new Dictionary<string, object?>
        {
            ["messages"] = messages.Select(m => (object?)m.ToValue()).ToList(),
            ["tools"] = tools is null ? null : TemplateValues.FromJson(tools),
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        foreach (var (name, token) in specialTokens) variables[name] = token;
        return Template.Render(variables);
    }

    /// <summary>
    /// Renders <paramref name="messages"/> and finds each assistant reply's span by progressive rendering: the reply
    /// to messages[..i] is what rendering messages[..(i+1)] adds to rendering messages[..i] with the generation
    /// prompt (so the span holds the reply and whatever closes it, such as an end-of-turn token, but never the
    /// header the model is prompted with). This works for any template whose rendering of a conversation begins with
    /// its rendering of every earlier part; a template that rewrites earlier turns (one that moves the system message
    /// into the last user turn) cannot be masked this way and is refused.
    /// </summary>
    /// <exception cref="InvalidInputException">The template failed, or a shorter conversation's rendering is not a
    /// prefix of the longer one's; names the template and the message.</exception>
    public RenderedConversation RenderWithAssistantSpans(IReadOnlyList<ChatTemplateMessage> messages, JsonArray? tools = null)
    {
        string whole = Render(messages, addGenerationPrompt: false, tools);
        var spans = new List<CharacterSpan>();
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != "assistant") continue;
            string prompt = Render(messages.Take(i).ToList(), addGenerationPrompt: true, tools);
            string through = Render(messages.Take(i + 1).ToList(), addGenerationPrompt: false, tools);
            if (!through.StartsWith(prompt, StringComparison.Ordinal))
                throw new InvalidInputException($"{Template.SourceName}: cannot mask assistant message {i}: rendering the conversation up to it with the generation prompt is not a prefix of rendering it with the reply (the template changes earlier text when a turn is added)");
            if (!whole.StartsWith(through, StringComparison.Ordinal))
                throw new InvalidInputException($"{Template.SourceName}: cannot mask assistant message {i}: rendering the conversation up to it is not a prefix of rendering the whole conversation (the template changes earlier text when a turn is added)");
            spans.Add(new CharacterSpan(prompt.Length, through.Length - prompt.Length));
        }
        return new RenderedConversation(whole, spans);
    }
}
