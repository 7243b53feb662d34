using System.Text.RegularExpressions;

namespace SharpLM.Evaluation.Harness;

/// <summary>The task's filters applied in order to a generation (lm-evaluation-harness's filter pipeline).</summary>
public static class AnswerExtraction
{
    /// <summary>The answer when a regex filter finds no match (lm-eval's marker).</summary>
    public const string Invalid = "[invalid]";

    /// <summary>
    /// The longest a filter regex may run on one generation. Patterns come from task files, and one with nested
    /// quantifiers, e.g. (a+)+$, backtracks exponentially: unbounded, it would hang the run.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// <paramref name="generated"/> after each filter in turn: a regex keeps its first (or last) match's first
    /// non-empty group, else the whole match; then first line, strip and lowercase as set.
    /// </summary>
    /// <returns>The extracted answer, or <see cref="Invalid"/> when a regex does not match.</returns>
    /// <exception cref="InvalidInputException">A regex is malformed, or runs past <see cref="MatchTimeout"/>.</exception>
    public static string Apply(IReadOnlyList<FilterSpec> filters, string generated)
    {
        string text = generated;
        foreach (var f in filters)
        {
            if (f.MajorityVote) continue; // one generation: its own majority
            if (f.Regex is string pattern)
            {
                MatchCollection matches;
                try
                {
                    // The static overload caches the parsed pattern; Count runs the whole search, so a timeout surfaces here.
                    matches = Regex.Matches(text, pattern, RegexOptions.CultureInvariant, MatchTimeout);
                    if (matches.Count == 0) return Invalid;
                }
                catch (RegexMatchTimeoutException)
                {
                    throw new InvalidInputException($"filter regex '{pattern}' ran past {MatchTimeout.TotalSeconds:0.#} s on one generation (catastrophic backtracking): simplify the task file's regex");
                }
                catch (ArgumentException e)
                {
                    throw new InvalidInputException($"filter regex '{pattern}' is malformed: {InvalidInputException.FirstLine(e)}", e);
                }
                var m = f.Last ? matches[^1] : matches[0];
                // As lm-eval's regex filter: the first group that matched something, else the whole match.
                text = m.Groups.Cast<Group>().Skip(1).FirstOrDefault(g => g.Success && g.Length > 0)?.Value ?? m.Value;
            }
            if (f.FirstLine) text = text.TrimStart('\n').Split('\n')[0];
            if (f.Strip) text = text.Trim();
            if (f.Lowercase) text = text.ToLowerInvariant();
        }
        return text;
    }

    /// <summary>
    /// A document's answer from all its generations: the steps before a <see cref="FilterSpec.MajorityVote"/> step
    /// applied to each, then the most common result (ties: the first given, as Python's Counter.most_common), then
    /// the steps after it. Without a vote step, the first generation through every step (lm-eval's take_first).
    /// </summary>
    /// <returns>Each generation's answer before the vote, and the answer scored.</returns>
    public static (IReadOnlyList<string> PerGeneration, string Answer) ApplyAll(IReadOnlyList<FilterSpec> filters, IReadOnlyList<string> generations)
    {
        int vote = filters.ToList().FindIndex(f => f.MajorityVote);
        if (vote < 0)
        {
            var each = generations.Select(g => Apply(filters, g)).ToList();
            return (each, each[0]);
        }
        var before = filters.Take(vote).ToList();
        var answers = generations.Select(g => Apply(before, g)).ToList();
        string winner = answers.GroupBy(a => a, StringComparer.Ordinal)
            .Select(g => (Answer: g.Key, Count: g.Count(), First: answers.IndexOf(g.Key)))
            .OrderByDescending(x => x.Count).ThenBy(x => x.First).First().Answer;
        return (answers, Apply(filters.Skip(vote + 1).ToList(), winner));
    }
}
