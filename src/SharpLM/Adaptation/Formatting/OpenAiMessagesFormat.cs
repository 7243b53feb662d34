using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// OpenAI chat fine-tuning records: <c>{"messages": [{"role": "user" | "assistant" | "system", "content": "…"}]}</c>.
/// Content must be a string (multi-part content is for images and tools, which instruction data here has none of).
/// </summary>
public static class OpenAiMessagesFormat
{
    /// <param name="record">The parsed JSON record.</param>
    /// <param name="where">"file:line", the prefix of every error.</param>
    /// <exception cref="InvalidInputException">As <see cref="ShareGptFormat.FromJson"/>.</exception>
    public static Conversation FromJson(JsonElement record, string where)
    {
        if (record.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{where}: expected a JSON object");
        if (!record.TryGetProperty("messages", out JsonElement list)) throw new InvalidInputException($"{where}: messages is missing");
        if (list.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"{where}: messages must be an array");
        var turns = new List<Turn>();
        foreach (JsonElement message in list.EnumerateArray())
        {
            string field = $"messages[{turns.Count}]";
            string role = JsonRecordFile.RequiredString(message, "role", where, $"{field}.role");
            string content = JsonRecordFile.RequiredString(message, "content", where, $"{field}.content");
            if (role is not (Roles.User or Roles.Assistant or Roles.System))
                throw new InvalidInputException($"{where}: {field}.role: unknown role '{role}' (expected user, assistant or system)");
            turns.Add(new Turn(role, content));
        }
        return ChatDataReader.Checked(turns, where, "messages");
    }

    /// <summary>The conversation as a <c>{"messages": [...]}</c> record, one object with role and content per turn.</summary>
    public static JsonObject ToJson(Conversation conversation) => new()
    {
        ["messages"] = new JsonArray(conversation.Turns.Select(t => (JsonNode)new JsonObject
        {
            ["role"] = t.Role,
            ["content"] = t.Content,
        }).ToArray()),
    };
}
