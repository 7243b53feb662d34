using System.Buffers;

namespace SharpLM.Tokenization;

/// <summary>
/// Finds special tokens such as &lt;|endoftext|&gt; in text by exact string match. They are cut out before
/// pre-tokenization so they always become their own id and never take part in merges — the same rule Hugging Face
/// applies to added tokens: leftmost occurrence first, and the longest token when several start at one place.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    readonly string[] longestFirst;
    readonly SearchValues<string>? search;

    public SpecialTokenSplitter(IEnumerable<string> specialTokens)
    {
        longestFirst = specialTokens.OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToArray();
        search = longestFirst.Length == 0 ? null : SearchValues.Create(longestFirst, StringComparison.Ordinal);
    }

    /// <summary>Finds the first special token in <paramref name="text"/>; false if there is none.</summary>
    public bool TryFindNext(ReadOnlySpan<char> text, out int index, out string token)
    {
        index = search is null ? -1 : text.IndexOfAny(search);
        if (index >= 0)
        {
            ReadOnlySpan<char> rest = text[index..];
            foreach (string candidate in longestFirst)
            {
                if (!rest.StartsWith(candidate, StringComparison.Ordinal)) continue;
                token = candidate;
                return true;
            }
        }
        token = "";
        return false;
    }
}
