using SharpLM.Adaptation.Formatting;

namespace SharpLM.Adaptation.Alignment;

/// <summary>Where preference pairs come from on the command line: the synthetic suite or a file, split into train and held-out pairs.</summary>
public static class PreferenceSource
{
    /// <summary>
    /// "synthetic" or "synthetic:KIND" (<see cref="SyntheticPreferences.Kinds"/>; style by default) gives the suite's
    /// train/test split; anything else is a preference file or data set name (<see cref="PreferenceData.Read"/>), held out
    /// against <paramref name="heldOut"/> when given, else its last <paramref name="heldOutFraction"/> of pairs.
    /// </summary>
    /// <exception cref="InvalidInputException">An unknown kind, or too few pairs to hold any out.</exception>
    public static (IReadOnlyList<PreferencePair> Train, IReadOnlyList<PreferencePair> HeldOut, int Skipped) Load(string spec, string? heldOut, double heldOutFraction, SyntheticSuiteOptions suite)
    {
        if (spec == "synthetic" || spec.StartsWith("synthetic:", StringComparison.Ordinal))
        {
            string kind = spec == "synthetic" ? "style" : spec["synthetic:".Length..];
            if (!SyntheticPreferences.Kinds.Contains(kind)) throw new InvalidInputException($"--data {spec}: kind '{kind}' is not one of {string.Join(", ", SyntheticPreferences.Kinds)}");
            var (train, test) = SyntheticPreferences.Build(new SyntheticPreferenceOptions { Suite = suite, Kind = kind });
            return (train, test, 0);
        }
        var pairs = PreferenceData.Read(spec, out int skipped);
        if (heldOut is not null)
        {
            var test = PreferenceData.Read(heldOut, out int skippedTest);
            return (pairs, test, skipped + skippedTest);
        }
        if (heldOutFraction is <= 0 or >= 1) throw new InvalidInputException("--eval-fraction: must be between 0 and 1");
        int held = (int)Math.Round(pairs.Count * heldOutFraction);
        if (held < 1 || held >= pairs.Count) throw InvalidInputException.ForFile(spec, $"{pairs.Count} pairs are too few to hold out {heldOutFraction:P0}");
        return (pairs.Take(pairs.Count - held).ToList(), pairs.Skip(pairs.Count - held).ToList(), skipped);
    }
}
