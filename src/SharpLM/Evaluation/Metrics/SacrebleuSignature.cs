namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// sacrebleu's reproducibility signature, e.g. <c>nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0</c>:
/// <c>nrefs</c> first, the metric's own fields in sacrebleu's order, the version last (<c>Signature.format</c>).
/// </summary>
public static class SacrebleuSignature
{
    /// <summary>The sacrebleu release whose behaviour (and test vectors) these metrics reproduce.</summary>
    public const string Version = "2.6.0";

    internal static string Format(string nrefs, params (string Key, string Value)[] fields) =>
        string.Join('|', [$"nrefs:{nrefs}", .. fields.Select(f => $"{f.Key}:{f.Value}"), $"version:{Version}"]);

    /// <summary>Python's rendering of a bool in a signature.</summary>
    internal static string YesNo(bool value) => value ? "yes" : "no";
}
