using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SharpLM.IO;
using SharpLM.Runtime;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// A stage folder's stage.json: written last, atomically, after every output of the stage, so its presence means the
/// outputs are whole. <see cref="Fingerprint"/> names what the stage was run from (its settings and the runs of the
/// stages it reads); <see cref="RunId"/> is new on every run, so a stage that reads this one sees that it was rerun.
/// </summary>
public sealed record StageMarker
{
    /// <summary>The marker's file name in a stage folder.</summary>
    public const string FileName = "stage.json";
    /// <summary>The start record's file name: the fingerprint a stage was started with, written before its outputs, so a
    /// killed stage that can continue its own checkpoint knows the checkpoint is from the same settings.</summary>
    public const string StartFileName = "stage-start.json";

    /// <summary>The stage's name.</summary>
    public required string Stage { get; init; }
    /// <summary>SHA-256 of the stage's settings and of the run ids of the stages it reads (<see cref="Fingerprint"/>).</summary>
    public required string Fingerprint { get; init; }
    /// <summary>A fresh id per completed run.</summary>
    public required string RunId { get; init; }
    /// <summary>When the completing attempt started and finished (UTC).</summary>
    public required DateTime Started { get; init; }
    /// <summary>See <see cref="Started"/>.</summary>
    public required DateTime Finished { get; init; }
    /// <summary>Wall seconds of the completing attempt (a resumed stage's earlier attempts are not counted).</summary>
    public required double Seconds { get; init; }
    /// <summary>Whether the completing attempt continued a killed one's checkpoint.</summary>
    public bool Resumed { get; init; }

    /// <summary>The marker in <paramref name="stageDir"/>, or null when there is none (the stage never finished there).</summary>
    public static StageMarker? Read(string stageDir)
    {
        string path = Path.Combine(stageDir, FileName);
        return File.Exists(path) ? Json.ReadFile<StageMarker>(path) : null;
    }

    /// <summary>Whether <paramref name="stageDir"/> holds a finished run with exactly this <paramref name="fingerprint"/>.</summary>
    public static bool IsComplete(string stageDir, string fingerprint) => Read(stageDir)?.Fingerprint == fingerprint;

    /// <summary>Writes this marker into <paramref name="stageDir"/>, atomically: the last thing a stage does.</summary>
    public void Write(string stageDir) => AtomicFile.WriteAllText(Path.Combine(stageDir, FileName), JsonSerializer.Serialize(this, Json.Options));

    /// <summary>The fingerprint a stage was started with in <paramref name="stageDir"/>, or null.</summary>
    public static string? ReadStart(string stageDir)
    {
        string path = Path.Combine(stageDir, StartFileName);
        return File.Exists(path) ? Json.ReadFile<StageStart>(path).Fingerprint : null;
    }

    /// <summary>Records that a stage with <paramref name="fingerprint"/> started in <paramref name="stageDir"/>.</summary>
    public static void WriteStart(string stageDir, string fingerprint) =>
        AtomicFile.WriteAllText(Path.Combine(stageDir, StartFileName), JsonSerializer.Serialize(new StageStart(fingerprint), Json.Options));

    /// <summary>
    /// SHA-256 (hex) of the stage's name, its <paramref name="settings"/> as JSON and the run ids of its
    /// <paramref name="upstream"/> stages: equal fingerprints mean the same work from the same inputs.
    /// </summary>
    public static string FingerprintOf(string stage, object settings, IReadOnlyDictionary<string, string> upstream)
    {
        string json = JsonSerializer.Serialize(new { stage, settings, upstream = new SortedDictionary<string, string>(upstream.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal) }, Json.Line);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
    }

    sealed record StageStart(string Fingerprint);
}
