namespace SharpLM.Tokenization;

/// <summary>
/// GPT-2's reversible map from the 256 byte values to 256 printable characters (OpenAI's <c>bytes_to_unicode</c>).
/// Byte-level BPE works on UTF-8 bytes, but vocab files store tokens as strings; mapping every byte to a visible
/// character (space → 'Ġ', newline → 'Ċ', …) lets any byte sequence be written as an ordinary JSON string.
/// </summary>
public static class ByteLevelAlphabet
{
    static readonly char[] byteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> charToByte = Enumerable.Range(0, 256).ToDictionary(b => byteToChar[b], b => (byte)b);

    /// <summary>
    /// The 256 symbols in ascending code-point order. This is GPT-2's order for the first 256 vocabulary entries and
    /// the order Hugging Face's trainer gives the ByteLevel alphabet, so a symbol's index here is its base token id.
    /// </summary>
    public static IReadOnlyList<char> Symbols { get; } = byteToChar.Order().ToArray();

    /// <summary>The printable character that stands for <paramref name="b"/>.</summary>
    public static char ToChar(byte b) => byteToChar[b];

    /// <summary>Writes bytes as their symbols, e.g. the UTF-8 of " hé" → "ĠhÃ©".</summary>
    public static string ToSymbols(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = byteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The bytes a symbol string stands for; false if it contains a character that is not a symbol.</summary>
    public static bool TryGetBytes(string symbols, out byte[] bytes)
    {
        bytes = new byte[symbols.Length];
        for (int i = 0; i < symbols.Length; i++)
            if (!charToByte.TryGetValue(symbols[i], out bytes[i])) return false;
        return true;
    }

    // Printable Latin-1 bytes ('!'…'~', '¡'…'¬', '®'…'ÿ') stand for themselves; the other 68 bytes (control
    // characters, space, DEL, NBSP, soft hyphen) are shifted to U+0100 onwards in byte order.
    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
            map[b] = printable ? (char)b : (char)(256 + shifted++);
        }
        return map;
    }
}
