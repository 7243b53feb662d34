using System.Text.Json;

namespace SharpLM.Adaptation.Formatting;

/// <summary>One Stanford Alpaca record: an instruction, an optional input it applies to, and the expected output.</summary>
public sealed record AlpacaRecord(string Instruction, string Input, string Output)
{
    /// <summary>
    /// The record as one user turn and one assistant turn. The user turn is the instruction, then a blank line and
    /// the input when there is one — the order of Alpaca's own prompt, without its preamble (the chat template
    /// supplies the framing).
    /// </summary>
    public Conversation ToConversation() => new([
        Turn.User(Input.Length == 0 ? Instruction : $"{Instruction}\n\n{Input}"),
        Turn.Assistant(Output),
    ]);
}

/// <summary>
/// Alpaca files: a JSON array (the released <c>alpaca_data.json</c>) or JSONL of <c>{instruction, input, output}</c>.
/// "input" may be absent (it means empty); "instruction" and "output" are required, and the instruction must not
/// be blank.
/// </summary>
public static class AlpacaFormat
{
    /// <exception cref="InvalidInputException">Malformed JSON or a missing or mistyped field; names file:line and the field.</exception>
    public static IReadOnlyList<AlpacaRecord> Read(string path) =>
        JsonRecordFile.Read(path).Select(r => FromJson(r.Value, $"{path}:{r.Line}")).ToList();

    /// <param name="record">The parsed JSON record.</param>
    /// <param name="where">"file:line", the prefix of every error.</param>
    public static AlpacaRecord FromJson(JsonElement record, string where)
    {
        string instruction = JsonRecordFile.RequiredString(record, "instruction", where, "instruction");
        if (string.IsNullOrWhiteSpace(instruction)) throw new InvalidInputException($"{where}: instruction is empty");
        string input = record.TryGetProperty("input", out _) ? JsonRecordFile.RequiredString(record, "input", where, "input") : "";
        string output = JsonRecordFile.RequiredString(record, "output", where, "output");
        return new AlpacaRecord(instruction, input, output);
    }
}
