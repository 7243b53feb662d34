using System.Text;

namespace SharpLM.Modeling.NGram;

/// <summary>What one token of an n-gram model is: a whitespace-separated word or a single character.</summary>
public enum NGramTokenization
{
    /// <summary>Words: a line split on whitespace, as KenLM's <c>lmplz</c> and SRILM's <c>ngram-count</c> read text.</summary>
    Words,

    /// <summary>Characters: one token per Unicode scalar value (see <see cref="NGramTokenizer"/> for whitespace).</summary>
    Characters,
}

/// <summary>
/// Turns text into token sentences. One line is one sentence: the model brackets it with <c>&lt;s&gt;</c> and
/// <c>&lt;/s&gt;</c>, so at character level the end marker stands for the line's newline character.
/// </summary>
public static class NGramTokenizer
{
    /// <summary>
    /// The token for a space at character level: SentencePiece's meta symbol U+2581 "▁". ARPA files separate the words
    /// of an n-gram with whitespace, so a token must not contain any; other whitespace characters become byte-fallback
    /// style tokens such as <c>&lt;0x09&gt;</c> for a tab, as SentencePiece writes them.
    /// </summary>
    public const string Space = "\u2581";

    /// <summary>The tokens of one line.</summary>
    public static IReadOnlyList<string> Tokenize(string line, NGramTokenization tokenization) => tokenization switch
    {
        NGramTokenization.Words => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries),
        NGramTokenization.Characters => line.EnumerateRunes().Select(CharacterToken).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(tokenization), tokenization, null),
    };

    /// <summary>The lines of an in-memory text, split like <see cref="File.ReadLines(string)"/> splits a file.</summary>
    public static IEnumerable<string> Lines(string text)
    {
        using var reader = new StringReader(text);
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine()) yield return line;
    }

    /// <summary>Characters a line contributes to a text: its Unicode scalar values plus the newline ending it.</summary>
    public static long CharactersWithNewline(string line) => line.EnumerateRunes().Count() + 1;

    static string CharacterToken(Rune rune) =>
        rune.Value == ' ' ? Space : Rune.IsWhiteSpace(rune) ? $"<0x{rune.Value:X2}>" : rune.ToString();
}
