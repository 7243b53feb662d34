using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// ShareGPT records: <c>{"conversations": [{"from": "human" | "gpt" | "system", "value": "…"}]}</c>. "human" is the
/// user and "gpt" the assistant; other fields of the record are ignored, as ShareGPT dumps carry ids and metadata.
/// </summary>
public static class ShareGptFormat
{
    static readonly Dictionary<string, string> roleOfFrom = new(StringComparer.Ordinal)
    {
        ["human"] = Roles.User, ["gpt"] = Roles.Assistant, ["system"] = Roles.System,
    };

    /// <param name="record">The parsed JSON record.</param>
    /// <param name="where">"file:line", the prefix of every error.</param>
    /// <exception cref="InvalidInputException">A field is missing or of the wrong type, a role is unknown, or the
    /// turns are empty or do not alternate; names the field.</exception>
    public static Conversation FromJson(JsonElement record, string where)
    {
        if (record.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{where}: expected a JSON object");
        if (!record.TryGetProperty("conversations", out JsonElement list)) throw new InvalidInputException($"{where}: conversations is missing");
        if (list.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"{where}: conversations must be an array");
        var turns = new List<Turn>();
        foreach (JsonElement message in list.EnumerateArray())
        {
            string field = $"conversations[{turns.Count}]";
            string from = JsonRecordFile.RequiredString(message, "from", where, $"{field}.from");
            string value = JsonRecordFile.RequiredString(message, "value", where, $"{field}.value");
            if (!roleOfFrom.TryGetValue(from, out string? role))
                throw new InvalidInputException($"{where}: {field}.from: unknown role '{from}' (expected human, gpt or system)");
            turns.Add(new Turn(role, value));
        }
        return ChatDataReader.Checked(turns, where, "conversations");
    }

    /// <summary>The conversation as a <c>{"conversations": [...]}</c> record, with user as "human" and assistant as
    /// "gpt".</summary>
    public static JsonObject ToJson(Conversation conversation) => new()
    {
        ["conversations"] = new JsonArray(conversation.Turns.Select(t => (JsonNode)new JsonObject
        {
            ["from"] = t.Role switch { Roles.User => "human", Roles.Assistant => "gpt", _ => t.Role },
            ["value"] = t.Content,
        }).ToArray()),
    };
}
