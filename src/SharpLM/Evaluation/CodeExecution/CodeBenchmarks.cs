using SharpLM.Sandbox;
using System.IO.Compression;
using System.Text.Json;

namespace SharpLM.Evaluation.CodeExecution;

/// <summary>A HumanEval problem (openai/human-eval's HumanEval.jsonl.gz record).</summary>
public sealed record HumanEvalProblem
{
    /// <summary>The problem's id, e.g. "HumanEval/0".</summary>
    public required string TaskId { get; init; }
    /// <summary>Imports, the function signature and its docstring: the model continues it.</summary>
    public required string Prompt { get; init; }
    /// <summary>The reference completion of <see cref="Prompt"/> (the function body).</summary>
    public required string CanonicalSolution { get; init; }
    /// <summary>Defines check(candidate).</summary>
    public required string Test { get; init; }
    /// <summary>Name of the function under test, passed to check().</summary>
    public required string EntryPoint { get; init; }

    /// <summary>The program human-eval's execution.py runs: prompt + completion + "\n" + test + "\n" + check(entry_point).</summary>
    public string Program(string completion) => Prompt + completion + "\n" + Test + "\n" + $"check({EntryPoint})";

    /// <summary>One record, with snake_case fields as in the JSONL file.</summary>
    /// <exception cref="InvalidInputException">The record is JSON null.</exception>
    public static HumanEvalProblem FromJson(JsonElement record) => JsonLines.Deserialize<HumanEvalProblem>(record);

    /// <summary>Reads HumanEval.jsonl or HumanEval.jsonl.gz.</summary>
    public static IReadOnlyList<HumanEvalProblem> Load(string path) => JsonLines.Read<HumanEvalProblem>(path);
}

/// <summary>An MBPP problem (google-research mbpp's JSONL record; the sanitized subset has the same fields).</summary>
public sealed record MbppProblem
{
    /// <summary>The problem's number in the MBPP release.</summary>
    public required int TaskId { get; init; }
    /// <summary>The task description given to the model.</summary>
    public string Text { get; init; } = "";
    /// <summary>The reference solution.</summary>
    public required string Code { get; init; }
    /// <summary>assert statements, one per test.</summary>
    public required IReadOnlyList<string> TestList { get; init; }
    /// <summary>Code run before the asserts (empty for most problems).</summary>
    public string TestSetupCode { get; init; } = "";
    /// <summary>
    /// Imports the asserts rely on (e.g. "import math" for math.isclose): the sanitized release's test_imports. Files
    /// converted to the original MBPP fields may have dropped them; those asserts then fail with a NameError.
    /// </summary>
    public IReadOnlyList<string> TestImports { get; init; } = [];

    /// <summary>
    /// The program the MBPP paper's and bigcode-evaluation-harness's execution runs: test imports and setup code,
    /// the completion, then the asserts, each on its own line.
    /// </summary>
    public string Program(string completion) =>
        string.Concat(TestImports.Select(i => i + "\n")) + TestSetupCode + "\n" + completion + "\n" + string.Join("\n", TestList) + "\n";

    /// <summary>One record, with snake_case fields as in the JSONL file.</summary>
    /// <exception cref="InvalidInputException">The record is JSON null.</exception>
    public static MbppProblem FromJson(JsonElement record) => JsonLines.Deserialize<MbppProblem>(record);

    /// <summary>Reads mbpp.jsonl, mbpp_sanitized_427.jsonl (or the same gzipped).</summary>
    public static IReadOnlyList<MbppProblem> Load(string path) => JsonLines.Read<MbppProblem>(path);
}

/// <summary>Benchmark records, one JSON object per line, snake_case fields; missing required fields are errors naming the line.</summary>
internal static class JsonLines
{
    static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static T Deserialize<T>(JsonElement record) => record.Deserialize<T>(Options)
        ?? throw new InvalidInputException($"a {typeof(T).Name} record is JSON null");

    public static IReadOnlyList<T> Read<T>(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
        using Stream file = File.OpenRead(path);
        using var reader = new StreamReader(path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file);
        var records = new List<T>();
        int lineNumber = 0;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                records.Add(JsonSerializer.Deserialize<T>(line, Options)
                    ?? throw InvalidInputException.ForFile(path, $"line {lineNumber}: JSON null instead of a {typeof(T).Name} record"));
            }
            catch (JsonException e)
            {
                throw InvalidInputException.ForFile(path, $"line {lineNumber}: not a {typeof(T).Name} record: {InvalidInputException.FirstLine(e)}", e);
            }
        }
        return records;
    }
}
