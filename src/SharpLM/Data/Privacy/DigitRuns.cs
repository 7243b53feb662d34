using System.Text.RegularExpressions;

namespace SharpLM.Data.Privacy;

/// <summary>
/// Tries to match one number-shaped PII type at a run of ASCII digits [runStart, runEnd); on success, the match
/// is [start, start + length), where start is runStart or the '+' / '(' right before it.
/// </summary>
delegate bool DigitRunMatcher(string text, int runStart, int runEnd, out int start, out int length);

/// <summary>
/// Drives the number-shaped scanners (resident IDs, cards, IPv4, mobile and other phone numbers) from one pass over
/// the runs of ASCII digits. Each of their matches begins at the start of a digit run (their patterns refuse a
/// digit before the match) or at the '+' or '(' right before one, so each scanner is asked once per run, and runs
/// its anchored regex only where the run's length and neighbours fit its shape. Digit-dense text (tables, logs)
/// then costs one vectorized search per run instead of a regex attempt per digit per type.
/// </summary>
static class DigitRuns
{
    public static void Scan(string text, (PiiType Type, DigitRunMatcher Match)[] matchers, ref List<PiiCandidate>? found)
    {
        var span = text.AsSpan();
        // Like successive regex matches, a scanner's next match starts after its previous one ends.
        Span<int> resumeAt = stackalloc int[matchers.Length];
        for (int runStart = span.IndexOfAnyInRange('0', '9'); runStart >= 0; )
        {
            int runEnd = runStart + 1;
            while (runEnd < span.Length && char.IsAsciiDigit(span[runEnd])) runEnd++;  // runs are short: no vector search
            // A run glued to a letter (hex, identifiers, "v1.2") starts nothing: every pattern refuses a letter before.
            bool afterLetter = runStart > 0 && char.IsAsciiLetter(span[runStart - 1]);
            for (int i = 0; i < matchers.Length && !afterLetter; i++)
            {
                if (runStart < resumeAt[i] || !matchers[i].Match(text, runStart, runEnd, out int start, out int length)) continue;
                PiiCandidate.Add(ref found, matchers[i].Type, start, length);
                resumeAt[i] = start + length;
            }
            int gap = span[runEnd..].IndexOfAnyInRange('0', '9');
            runStart = gap < 0 ? -1 : runEnd + gap;
        }
    }

    /// <summary>
    /// The length of the match of a \G-anchored pattern at <paramref name="at"/>; 0 when there is none. A failed
    /// <see cref="Regex.Match(string, int)"/> allocates nothing, and it costs a tenth of the span-based
    /// EnumerateMatches(text, at) for one anchored attempt (measured: ~40 ns against ~400 ns).
    /// </summary>
    public static int MatchLength(Regex anchored, string text, int at) => anchored.Match(text, at) is { Success: true } m ? m.Length : 0;

    /// <summary>The character at <paramref name="index"/>, or '\0' outside the text.</summary>
    public static char At(string text, int index) => (uint)index < (uint)text.Length ? text[index] : '\0';
}
