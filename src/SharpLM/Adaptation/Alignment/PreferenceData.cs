using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Adaptation.Formatting;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Tokenization;

namespace SharpLM.Adaptation.Alignment;

/// <summary>
/// Reads and writes preference pairs as JSONL (plain or .gz). Each line is one of three forms, told apart per line:
/// <list type="bullet">
/// <item>TRL's explicit prompt: <c>{"prompt", "chosen", "rejected"}</c>, each a string or a list of
/// <c>{role, content}</c> messages (a string prompt is one user turn; a reply list ends with the assistant reply);</item>
/// <item>TRL's implicit prompt: <c>{"chosen": [messages], "rejected": [messages]}</c>, two conversations that share
/// every turn but the final assistant reply;</item>
/// <item>Anthropic hh-rlhf transcripts: <c>{"chosen": "\n\nHuman: …\n\nAssistant: …", "rejected": "…"}</c>.</item>
/// </list>
/// An optional string field "task" (and "instance", which <see cref="Write"/> writes) is kept. Every problem is one
/// line naming <c>file:line</c>: malformed JSON, a missing field, a wrong type, a prompt that does not end with a user
/// turn, an empty reply, or identical chosen and rejected replies — except that hh-rlhf transcripts, a human-labelled
/// set with known defects, have their degenerate pairs skipped and counted instead (see <see cref="Read"/>).
/// </summary>
public static class PreferenceData
{
    const string HumanMarker = "\n\nHuman:";
    const string AssistantMarker = "\n\nAssistant:";

    /// <summary>
    /// The pairs of <paramref name="pathOrName"/>: a file, or a data set name such as "hh-rlhf" resolved as
    /// <see cref="Corpora.Resolve"/> does. Each pair's <see cref="PreferencePair.Origin"/> is "FILE:LINE".
    /// </summary>
    /// <remarks>
    /// hh-rlhf transcripts are split at "\n\nHuman:" and "\n\nAssistant:" into trimmed user and assistant turns; the
    /// prompt is the chosen transcript's turns before its last assistant turn, and each reply is its transcript's last
    /// assistant turn. When the rejected transcript's earlier turns differ from the chosen one's (a few pairs of the real
    /// set do), the chosen one's are the prompt: the label says which reply is better, and a pair needs one prompt.
    /// Consecutive turns of one speaker (a marker missing from a few transcripts, so one speaker's message is split or
    /// follows another) are joined into one turn. Pairs whose replies are identical or empty (transcripts cut off
    /// after "Assistant:") carry no preference; in this form only they are skipped and counted in
    /// <paramref name="skipped"/>, because the public data set contains them and a reader that refused the file would
    /// be useless. In the TRL forms, written by a program, they are errors.
    /// </remarks>
    /// <param name="pathOrName">A path, or the name of a one-file data set.</param>
    /// <param name="skipped">hh-rlhf pairs left out for carrying no preference.</param>
    /// <exception cref="InvalidInputException">A missing or unreadable file, no records, or a bad record (naming file:line).</exception>
    public static IReadOnlyList<PreferencePair> Read(string pathOrName, out int skipped)
    {
        string path = Corpora.Resolve(pathOrName);
        var records = ReadRecords(path);
        if (records.Count == 0) throw InvalidInputException.ForFile(path, "no records");
        var pairs = new List<PreferencePair>(records.Count);
        skipped = 0;
        foreach (JsonRecord record in records)
        {
            if (FromJson(record.Value, $"{path}:{record.Line}") is { } pair) pairs.Add(pair);
            else skipped++;
        }
        return pairs;
    }

    /// <summary>
    /// Writes <paramref name="pairs"/> atomically as TRL's conversational explicit-prompt JSONL:
    /// <c>{"prompt": [messages], "chosen": [{"role": "assistant", …}], "rejected": […], "task", "instance"}</c>, the
    /// last two only when non-empty. <see cref="Read"/> reads it back to the same pairs.
    /// </summary>
    public static void Write(string path, IEnumerable<PreferencePair> pairs)
    {
        var options = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var lines = new StringBuilder();
        foreach (PreferencePair pair in pairs)
        {
            var record = new JsonObject
            {
                ["prompt"] = Messages(pair.Prompt),
                ["chosen"] = Messages([Turn.Assistant(pair.Chosen)]),
                ["rejected"] = Messages([Turn.Assistant(pair.Rejected)]),
            };
            if (pair.Task.Length > 0) record["task"] = pair.Task;
            if (pair.Instance.Length > 0) record["instance"] = pair.Instance;
            lines.Append(record.ToJsonString(options)).Append('\n');
        }
        AtomicFile.WriteAllText(path, lines.ToString());
    }

    /// <summary>
    /// The pairs whose prompt + chosen and prompt + rejected <paramref name="tokenizer"/> can encode through
    /// <paramref name="template"/> (a character tokenizer cannot encode characters it was not built with).
    /// </summary>
    /// <param name="pairs">The pairs to filter.</param>
    /// <param name="template">The chat template the pairs will be rendered with.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="skipped">Pairs left out because a conversation could not be encoded.</param>
    /// <exception cref="InvalidInputException">The tokenizer lacks the template's special tokens, so no pair could be
    /// encoded: an error, not a silently empty set.</exception>
    public static IReadOnlyList<PreferencePair> Encodable(IReadOnlyList<PreferencePair> pairs, ChatTemplate template, ITokenizer tokenizer, out int skipped)
    {
        var missing = template.RequiredSpecialTokens.Where(t => !tokenizer.SpecialTokenIds.ContainsKey(t)).ToList();
        if (missing.Count > 0)
            throw new InvalidInputException($"the tokenizer lacks the chat template's special tokens {string.Join(", ", missing)}");
        var kept = new List<PreferencePair>(pairs.Count);
        foreach (PreferencePair pair in pairs)
        {
            if (CanEncode(template, tokenizer, [.. pair.Prompt, Turn.Assistant(pair.Chosen)])
                && CanEncode(template, tokenizer, [.. pair.Prompt, Turn.Assistant(pair.Rejected)]))
                kept.Add(pair);
        }
        skipped = pairs.Count - kept.Count;
        return kept;
    }

    static bool CanEncode(ChatTemplate template, ITokenizer tokenizer, IReadOnlyList<Turn> turns)
    {
        try
        {
            template.Tokenize(tokenizer, turns);
            return true;
        }
        catch (InvalidInputException)
        {
            return false;
        }
    }

    static JsonArray Messages(IEnumerable<Turn> turns) =>
        new(turns.Select(t => (JsonNode)new JsonObject { ["role"] = t.Role, ["content"] = t.Content }).ToArray());

    // JsonRecordFile reads plain files (JSONL or a JSON array); a .gz file is decompressed here and read as JSONL.
    static IReadOnlyList<JsonRecord> ReadRecords(string path)
    {
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return JsonRecordFile.Read(path);
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
        string text;
        try
        {
            using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            text = new StreamReader(gzip, Encoding.UTF8).ReadToEnd();
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw InvalidInputException.ForFile(path, $"cannot read ({InvalidInputException.FirstLine(e)})", e);
        }
        var records = new List<JsonRecord>();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            try
            {
                records.Add(new JsonRecord(i + 1, JsonDocument.Parse(lines[i]).RootElement));
            }
            catch (JsonException e)
            {
                throw InvalidInputException.ForFile($"{path}:{i + 1}", $"not valid JSON ({InvalidInputException.FirstLine(e)})", e);
            }
        }
        return records;
    }

    // One record as a pair; null for an hh-rlhf pair that carries no preference (skipped, see Read).
    static PreferencePair? FromJson(JsonElement record, string where)
    {
        if (record.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{where}: expected a JSON object");
        JsonElement chosen = Field(record, "chosen", where);
        JsonElement rejected = Field(record, "rejected", where);
        PreferencePair? pair;
        if (record.TryGetProperty("prompt", out JsonElement prompt)) pair = Explicit(prompt, chosen, rejected, where);
        else if (chosen.ValueKind == JsonValueKind.String) pair = Transcripts(chosen, rejected, where);
        else if (chosen.ValueKind == JsonValueKind.Array) pair = Implicit(chosen, rejected, where);
        else throw new InvalidInputException($"{where}: chosen must be a string or a list of messages, not {Kind(chosen)}");
        return pair is null ? null : pair with
        {
            Task = OptionalString(record, "task", where),
            Instance = OptionalString(record, "instance", where),
            Origin = where,
        };
    }

    static PreferencePair Explicit(JsonElement prompt, JsonElement chosen, JsonElement rejected, string where)
    {
        List<Turn> turns = prompt.ValueKind switch
        {
            JsonValueKind.String => [Turn.User(prompt.GetString()!)],
            JsonValueKind.Array => ReadMessages(prompt, where, "prompt"),
            _ => throw new InvalidInputException($"{where}: prompt must be a string or a list of messages, not {Kind(prompt)}"),
        };
        return Checked(turns, Reply(chosen, where, "chosen"), Reply(rejected, where, "rejected"), where);
    }

    static PreferencePair Implicit(JsonElement chosen, JsonElement rejected, string where)
    {
        if (rejected.ValueKind != JsonValueKind.Array)
            throw new InvalidInputException($"{where}: rejected must be a list of messages like chosen, not {Kind(rejected)}");
        var chosenTurns = ReadMessages(chosen, where, "chosen");
        var rejectedTurns = ReadMessages(rejected, where, "rejected");
        string chosenReply = LastAssistant(chosenTurns, where, "chosen");
        string rejectedReply = LastAssistant(rejectedTurns, where, "rejected");
        var context = chosenTurns[..^1];
        if (!context.SequenceEqual(rejectedTurns[..^1]))
            throw new InvalidInputException($"{where}: chosen and rejected must share every turn before the final assistant reply (the prompt)");
        return Checked(context, chosenReply, rejectedReply, where);
    }

    static PreferencePair? Transcripts(JsonElement chosen, JsonElement rejected, string where)
    {
        if (rejected.ValueKind != JsonValueKind.String)
            throw new InvalidInputException($"{where}: rejected must be a transcript string like chosen, not {Kind(rejected)}");
        var chosenTurns = SplitTranscript(chosen.GetString()!, where, "chosen");
        var rejectedTurns = SplitTranscript(rejected.GetString()!, where, "rejected");
        string chosenReply = LastAssistant(chosenTurns, where, "chosen");
        string rejectedReply = LastAssistant(rejectedTurns, where, "rejected");
        // Degenerate pairs of the human-labelled set: no preference to learn (see Read).
        if (chosenReply.Length == 0 || rejectedReply.Length == 0 || chosenReply == rejectedReply) return null;
        return Checked(chosenTurns[..^1], chosenReply, rejectedReply, where);
    }

    // "\n\nHuman: a\n\nAssistant: b" → [user a, assistant b], contents trimmed, one speaker's consecutive turns joined.
    static List<Turn> SplitTranscript(string text, string where, string field)
    {
        var turns = new List<Turn>();
        int at = NextMarker(text, 0);
        if (at < 0 || text[..at].Trim().Length > 0)
            throw new InvalidInputException($"{where}: {field}: not an hh-rlhf transcript (expected it to start with \"\\n\\nHuman:\")");
        while (at >= 0)
        {
            bool human = string.CompareOrdinal(text, at, HumanMarker, 0, HumanMarker.Length) == 0;
            int start = at + (human ? HumanMarker.Length : AssistantMarker.Length);
            int next = NextMarker(text, start);
            string content = text[start..(next < 0 ? text.Length : next)].Trim();
            string role = human ? Roles.User : Roles.Assistant;
            if (turns.Count > 0 && turns[^1].Role == role) turns[^1] = new Turn(role, (turns[^1].Content + "\n\n" + content).Trim());
            else turns.Add(new Turn(role, content));
            at = next;
        }
        return turns;
    }

    static int NextMarker(string text, int from)
    {
        int human = text.IndexOf(HumanMarker, from, StringComparison.Ordinal);
        int assistant = text.IndexOf(AssistantMarker, from, StringComparison.Ordinal);
        return human < 0 ? assistant : assistant < 0 ? human : Math.Min(human, assistant);
    }

    // The pair after the checks every form shares: a well-formed prompt ending with a user turn, two non-empty,
    // different replies.
    static PreferencePair Checked(IReadOnlyList<Turn> prompt, string chosen, string rejected, string where)
    {
        if (prompt.Count == 0 || prompt[^1].Role != Roles.User)
            throw new InvalidInputException($"{where}: prompt must end with a user turn{(prompt.Count == 0 ? " (it is empty)" : $", not {prompt[^1].Role}")}");
        if (Conversation.Problem(prompt) is { } problem) throw new InvalidInputException($"{where}: prompt: {problem}");
        if (chosen.Trim().Length == 0) throw new InvalidInputException($"{where}: chosen: empty reply");
        if (rejected.Trim().Length == 0) throw new InvalidInputException($"{where}: rejected: empty reply");
        if (chosen.Trim() == rejected.Trim()) throw new InvalidInputException($"{where}: chosen and rejected are the same reply (no preference)");
        return new PreferencePair(prompt.ToArray(), chosen, rejected);
    }

    // A reply: a string, or a message list whose last message is the assistant reply (TRL writes a one-message list).
    static string Reply(JsonElement value, string where, string field) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Array => LastAssistant(ReadMessages(value, where, field), where, field),
        _ => throw new InvalidInputException($"{where}: {field} must be a string or a list of messages, not {Kind(value)}"),
    };

    static string LastAssistant(List<Turn> turns, string where, string field) =>
        turns.Count > 0 && turns[^1].Role == Roles.Assistant
            ? turns[^1].Content
            : throw new InvalidInputException($"{where}: {field} must end with an assistant message");

    static List<Turn> ReadMessages(JsonElement list, string where, string field)
    {
        var turns = new List<Turn>();
        foreach (JsonElement message in list.EnumerateArray())
        {
            string name = $"{field}[{turns.Count}]";
            string role = JsonRecordFile.RequiredString(message, "role", where, $"{name}.role");
            string content = JsonRecordFile.RequiredString(message, "content", where, $"{name}.content");
            if (role is not (Roles.User or Roles.Assistant or Roles.System))
                throw new InvalidInputException($"{where}: {name}.role: unknown role '{role}' (expected user, assistant or system)");
            turns.Add(new Turn(role, content));
        }
        return turns;
    }

    static JsonElement Field(JsonElement record, string name, string where) =>
        record.TryGetProperty(name, out JsonElement value) ? value : throw new InvalidInputException($"{where}: {name} is missing");

    static string OptionalString(JsonElement record, string name, string where) =>
        !record.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null ? ""
        : value.ValueKind == JsonValueKind.String ? value.GetString()!
        : throw new InvalidInputException($"{where}: {name} must be a string, not {Kind(value)}");

    static string Kind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();
}
