using System.Text.Json;
using Microsoft.Extensions.AI;
using SharpLM.Runtime;

namespace SharpLM.Utilization.Agents;

/// <summary>What every agent does with a tool and a trace, in one place.</summary>
internal static class AgentTools
{
    /// <summary>
    /// Runs <paramref name="tool"/> with <paramref name="input"/> as its first parameter. A tool's failure is an
    /// observation too ("error: …"), as is a call that outlasts <paramref name="timeout"/>: the model reads it and can
    /// try again; only the caller's cancellation ends the run.
    /// </summary>
    public static async Task<string> InvokeAsync(AIFunction tool, string input, TimeSpan timeout, CancellationToken cancellation)
    {
        string parameter = tool.JsonSchema.TryGetProperty("properties", out var properties) && properties.EnumerateObject().FirstOrDefault() is { Name: { } first } ? first : "input";
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        call.CancelAfter(timeout);
        try
        {
            object? result = await tool.InvokeAsync(new AIFunctionArguments { [parameter] = input }, call.Token).AsTask().WaitAsync(call.Token);
            return result switch
            {
                null => "",
                JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
                JsonElement e => e.GetRawText(),
                var other => other.ToString() ?? "",
            };
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return $"error: {tool.Name} gave no result within {timeout.TotalSeconds:0.###} s";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"error: {tool.Name} failed: {InvalidInputException.FirstLine(e)}";
        }
    }

    /// <summary>Whether an observation reports a failure.</summary>
    public static bool IsError(string observation) => observation.StartsWith("error:", StringComparison.Ordinal);

    /// <summary>Appends <paramref name="record"/> to the JSONL trace at <paramref name="path"/>, if any.</summary>
    public static void Trace<T>(string? path, T record)
    {
        if (path is not null) File.AppendAllText(path, JsonSerializer.Serialize(record, Json.Line) + "\n");
    }
}
