using System.Globalization;
using System.Text;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>One entry of <c>added_tokens</c>, with the flags that decide where it matches.</summary>
internal sealed record HfAddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

/// <summary>A stretch of the input after added tokens are cut out: an added token's id, or text to encode.</summary>
internal readonly record struct HfSegment(int TokenId, HfPiece Piece);

/// <summary>
/// Hugging Face's <c>AddedVocabulary::extract_and_normalize</c>: tokens with normalized=false are cut out of the raw
/// text first (leftmost, longest), each stretch between them is normalized, and tokens with normalized=true are
/// then cut out of the normalized stretches by their normalized form. single_word keeps a match only between
/// non-word characters; lstrip/rstrip take the whitespace beside the token into it.
/// </summary>
internal sealed class HfAddedTokens
{
    readonly Dictionary<string, HfAddedToken> rawByContent = new(StringComparer.Ordinal);
    readonly Dictionary<string, HfAddedToken> normalizedByPattern = new(StringComparer.Ordinal);
    readonly SpecialTokenSplitter? rawSplitter;
    readonly SpecialTokenSplitter? normalizedSplitter;
    readonly HfNormalizer? normalizer;

    /// <summary>The added tokens of a file, with the file's normalizer (for the normalized ones' patterns).</summary>
    public HfAddedTokens(IReadOnlyList<HfAddedToken> tokens, HfNormalizer? normalizer)
    {
        this.normalizer = normalizer;
        foreach (HfAddedToken token in tokens)
        {
            if (!token.Normalized) rawByContent.TryAdd(token.Content, token);
            else
            {
                string pattern = normalizer?.Normalize(token.Content) ?? token.Content;
                if (pattern.Length > 0) normalizedByPattern.TryAdd(pattern, token);
            }
        }
        if (rawByContent.Count > 0) rawSplitter = new SpecialTokenSplitter(rawByContent.Keys);
        if (normalizedByPattern.Count > 0) normalizedSplitter = new SpecialTokenSplitter(normalizedByPattern.Keys);
    }

    /// <summary>The segments of <paramref name="text"/> (well-formed, not empty), normalized, in order.</summary>
    public void Extract(string text, List<HfSegment> output)
    {
        var raw = new List<HfSegment>();
        FindMatches(new HfPiece(text, 0, text.Length, true), rawSplitter, rawByContent, raw);
        foreach (HfSegment segment in raw)
        {
            if (segment.TokenId >= 0)
            {
                output.Add(segment);
                continue;
            }
            HfPiece piece = segment.Piece;
            if (normalizer is not null)
            {
                string normalized = normalizer.Normalize(piece.Span.ToString());
                piece = new HfPiece(normalized, 0, normalized.Length, piece.AtStart);
            }
            FindMatches(piece, normalizedSplitter, normalizedByPattern, output);
        }
    }

    static void FindMatches(HfPiece piece, SpecialTokenSplitter? splitter, Dictionary<string, HfAddedToken> tokens, List<HfSegment> output)
    {
        if (piece.Length == 0) return;
        if (splitter is null)
        {
            output.Add(new HfSegment(-1, piece));
            return;
        }
        ReadOnlySpan<char> sentence = piece.Span;
        int startOffset = 0, searchFrom = 0;
        void Text(int from, int to)
        {
            if (to > from) output.Add(new HfSegment(-1, new HfPiece(piece.Text, piece.Start + from, to - from, piece.AtStart && from == 0)));
        }
        while (searchFrom < sentence.Length && splitter.TryFindNext(sentence[searchFrom..], out int index, out string content))
        {
            int start = searchFrom + index, stop = start + content.Length;
            searchFrom = stop; // the automaton resumes after the match whatever the flags make of it
            HfAddedToken token = tokens[content];
            if (token.SingleWord)
            {
                bool startSpace = start == 0 || !EndsWithWord(sentence[..start]);
                bool stopSpace = stop == sentence.Length || !StartsWithWord(sentence[stop..]);
                if (!startSpace || !stopSpace) continue;
            }
            if (token.LStrip) start = Math.Max(LeftmostSpaceAtEnd(sentence[..start]), startOffset);
            if (token.RStrip) stop += RightmostSpaceAtStart(sentence[stop..]);
            if (startOffset < start) Text(startOffset, start);
            output.Add(new HfSegment(token.Id, new HfPiece(piece.Text, piece.Start + start, stop - start, false)));
            startOffset = stop;
        }
        Text(startOffset, sentence.Length);
    }

    static int LeftmostSpaceAtEnd(ReadOnlySpan<char> text)
    {
        int i = text.Length;
        while (i > 0 && char.IsWhiteSpace(text[i - 1])) i--;
        return i;
    }

    static int RightmostSpaceAtStart(ReadOnlySpan<char> text)
    {
        int i = 0;
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        return i;
    }

    static bool EndsWithWord(ReadOnlySpan<char> text) =>
        Rune.DecodeLastFromUtf16(text, out Rune rune, out _) == System.Buffers.OperationStatus.Done && IsWord(rune);

    static bool StartsWithWord(ReadOnlySpan<char> text) =>
        Rune.DecodeFromUtf16(text, out Rune rune, out _) == System.Buffers.OperationStatus.Done && IsWord(rune);

    // Rust regex's \w: Alphabetic, marks, decimal digits, connector punctuation, join controls. Approximated by
    // categories (Alphabetic's few symbols such as Ⓐ are the difference).
    static bool IsWord(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
        _ => rune.Value is 0x200C or 0x200D,
    };
}
