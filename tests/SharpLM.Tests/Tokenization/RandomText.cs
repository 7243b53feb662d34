using System.Text;

namespace SharpLM.Tests.Tokenization;

/// <summary>
/// Seeded random strings that stress tokenizers: ASCII words and contractions, Latin-1, Chinese, letters and digits
/// beyond the BMP (surrogate pairs), emoji with skin tones, flags and ZWJ families, combining marks, odd whitespace,
/// and &lt;|endoftext|&gt; (whole and truncated). Always valid UTF-16, so every byte-level tokenizer must round-trip it.
/// </summary>
internal static class RandomText
{
    static readonly string[] pieces =
    [
        "the", " the", "The", "hello", " world", "King", " Richard", "'s", "'ll", "'re", "don't", "I'M",
        ",", ".", "!", "?", ";", ":", "--", "...", "(", ")", "\"", "'", "<", ">", "|", "{", "}", "#", "$", "%",
        "0", "7", "42", " 2024", "3.14", "٣", "½", "Ⅻ",
        "é", "naïve", "café", "ß", "Æ", "ñ", "¿", "¡", "\u00A0", "\u00AD", "ÿ",
        "中", "文", "我们", "今天", "去公园", "散步。", "世界", "漢字", "한국어", "日本語", "Привет", "مرحبا", "שלום", "हिन्दी",
        "𠀀", "𠀁", "𝐀", "𝐛", "𝟎", "𝟗", "𐍈",
        "😀", "😂", "👍", "👍🏽", "🇯🇵", "🇫🇷", "❤️", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "\u200D", "\uFE0F",
        "e\u0301", "a\u0308", "\u0301", "n\u0303\u0323",
        " ", "  ", "    ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u3000", "\u2028", "\u2003", "\v", "\f",
        "<|endoftext|>", "<|endof", "|endoftext|>", "<|", "<|endoftext|><|endoftext|>",
    ];

    /// <summary><paramref name="count"/> strings of 0–40 pieces each, the same for the same seed.</summary>
    public static IEnumerable<string> Strings(int seed, int count)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 41);
            for (int j = 0; j < length; j++)
            {
                // Mostly pieces, sometimes a random code point from anywhere valid, for what the list forgot.
                if (random.Next(8) > 0) text.Append(pieces[random.Next(pieces.Length)]);
                else text.Append(char.ConvertFromUtf32(RandomCodePoint(random)));
            }
            yield return text.ToString();
        }
    }

    static int RandomCodePoint(Random random)
    {
        while (true)
        {
            int c = random.Next(2) == 0 ? random.Next(0x20, 0x3000) : random.Next(0, 0x110000);
            if (c is < 0xD800 or > 0xDFFF) return c; // surrogate code points are not characters
        }
    }
}
