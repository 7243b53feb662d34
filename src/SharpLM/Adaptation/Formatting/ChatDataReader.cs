using System.Text.Encodings.Web;
using System.Text.Json;
using SharpLM.IO;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// Reads instruction data — ShareGPT, OpenAI messages or Alpaca, as a JSON array or JSONL — into
/// <see cref="Conversation"/>s, and writes conversations as ShareGPT or messages JSONL. Every problem is one line
/// naming <c>file:line</c> and the field: malformed JSON, a missing field, an unknown role, an empty conversation,
/// turns that do not alternate.
/// </summary>
public static class ChatDataReader
{
    /// <exception cref="InvalidInputException">See above; also a file with no records.</exception>
    public static IReadOnlyList<Conversation> Read(string path, ChatDataFormat format = ChatDataFormat.Auto)
    {
        var records = JsonRecordFile.Read(path);
        if (records.Count == 0) throw InvalidInputException.ForFile(path, "no records");
        if (format == ChatDataFormat.Auto) format = Detect(records[0], path);
        return records.Select(r => FromJson(r.Value, format, $"{path}:{r.Line}")).ToList();
    }

    /// <summary>One record in a concrete format as a conversation.</summary>
    /// <param name="record">The parsed JSON record.</param>
    /// <param name="format">ShareGPT, messages or Alpaca.</param>
    /// <param name="where">"file:line", the prefix of every error.</param>
    /// <exception cref="InvalidInputException">The record does not fit the format; names the field.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is <see cref="ChatDataFormat.Auto"/>.</exception>
    public static Conversation FromJson(JsonElement record, ChatDataFormat format, string where) => format switch
    {
        ChatDataFormat.ShareGpt => ShareGptFormat.FromJson(record, where),
        ChatDataFormat.Messages => OpenAiMessagesFormat.FromJson(record, where),
        ChatDataFormat.Alpaca => AlpacaFormat.FromJson(record, where).ToConversation(),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "a concrete format is needed per record"),
    };

    static ChatDataFormat Detect(JsonRecord first, string path)
    {
        if (first.Value.ValueKind == JsonValueKind.Object)
        {
            if (first.Value.TryGetProperty("conversations", out _)) return ChatDataFormat.ShareGpt;
            if (first.Value.TryGetProperty("messages", out _)) return ChatDataFormat.Messages;
            if (first.Value.TryGetProperty("instruction", out _)) return ChatDataFormat.Alpaca;
        }
        throw InvalidInputException.ForFile($"{path}:{first.Line}",
            "cannot tell the format: expected a \"conversations\" (ShareGPT), \"messages\" (OpenAI) or \"instruction\" (Alpaca) field");
    }

    /// <summary>Writes one conversation per line, in <paramref name="format"/> (ShareGPT or messages), atomically.</summary>
    public static void WriteJsonl(string path, IEnumerable<Conversation> conversations, ChatDataFormat format)
    {
        var options = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var lines = conversations.Select(c => format switch
        {
            ChatDataFormat.ShareGpt => ShareGptFormat.ToJson(c),
            ChatDataFormat.Messages => OpenAiMessagesFormat.ToJson(c),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "conversations are written as ShareGPT or messages"),
        }).Select(o => o.ToJsonString(options) + "\n");
        AtomicFile.WriteAllText(path, string.Concat(lines));
    }

    /// <summary>The turns as a conversation, or an error naming where and the list field.</summary>
    internal static Conversation Checked(List<Turn> turns, string where, string field) =>
        Conversation.Problem(turns) is { } problem
            ? throw new InvalidInputException($"{where}: {field}: {problem}")
            : new Conversation(turns);
}
