using System.Text.RegularExpressions;
using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class GptPreTokenizerTests
{
    static string[] Pieces(string text)
    {
        var pieces = new List<string>();
        foreach (ReadOnlySpan<char> piece in GptPreTokenizer.Split(text)) pieces.Add(piece.ToString());
        return pieces.ToArray();
    }

    [Fact]
    public void SplitsLikeGpt2()
    {
        Assert.Equal(["Hello", " world", "'s", " ", " test", "\n\n ", " x"], Pieces("Hello world's  test\n\n  x"));
        Assert.Equal(["abc", "123", " 4", ",", " ...!?", "   "], Pieces("abc123 4, ...!?   "));
        Assert.Equal(["I", "'ll", " don", "'t", " '", "S"], Pieces("I'll don't 'S"));
    }

    [Fact]
    public void AgreesWithTheGpt2RegexOnBmpText()
    {
        var regex = new Regex(GptPreTokenizer.Pattern);
        foreach (string random in RandomText.Strings(seed: 3, count: 500))
        {
            // .NET's regex sees surrogate halves, not code points; on BMP text the two must agree exactly.
            string text = new(random.Where(c => !char.IsSurrogate(c)).ToArray());
            Assert.Equal(regex.Matches(text).Select(m => m.Value), Pieces(text));
        }
    }

    [Fact]
    public void LettersBeyondTheBmpAreLetters()
    {
        // 𝐀 (U+1D400) and 𠀀 (U+20000) are letters; Hugging Face's code-point regex keeps them in letter runs.
        Assert.Equal(["a𝐀b", " 𠀀", "!", " 𝟎1"], Pieces("a𝐀b 𠀀! 𝟎1"));
    }

    [Fact]
    public void PiecesCoverTheTextExactly()
    {
        foreach (string text in RandomText.Strings(seed: 4, count: 300))
            Assert.Equal(text, string.Concat(Pieces(text)));
    }
}
