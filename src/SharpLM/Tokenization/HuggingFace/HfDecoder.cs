using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// A <c>decoder</c> of tokenizer.json: turns the token strings of ids back into text, as a chain in which each
/// step rewrites the list of strings (Hugging Face's <c>decode_chain</c>), joined at the end. Implemented: ByteLevel,
/// Replace, ByteFallback, Fuse, Strip, Metaspace and Sequence — what GPT-2, Llama-2/3, Mistral and Qwen2 files use.
/// </summary>
internal abstract class HfDecoder
{
    /// <summary>One step of the chain.</summary>
    public abstract List<string> DecodeChain(List<string> tokens);

    /// <summary>Reads the decoder at <paramref name="field"/>; null when the file has none.</summary>
    public static HfDecoder? Read(HfJson json, JsonElement? element, string field)
    {
        if (element is not JsonElement e) return null;
        string type = json.Type(e, field);
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevel();
            case "Replace":
            {
                var (isRegex, pattern) = json.Pattern(e, field);
                if (isRegex) throw json.Invalid($"{field}.pattern: Regex patterns are not supported (supported: String)");
                if (pattern.Length == 0) throw json.Invalid($"{field}.pattern must not be empty");
                return new Replace(pattern, json.String(e, "content", field));
            }
            case "ByteFallback":
                return new ByteFallback();
            case "Fuse":
                return new Fuse();
            case "Strip":
                return new Strip(json.Char(e, "content", field), json.Int(e, "start", field), json.Int(e, "stop", field));
            case "Metaspace":
                return new Metaspace(json.Char(e, "replacement", field), HfPreTokenizer.ReadPrependScheme(json, e, field));
            case "Sequence":
            {
                JsonElement list = json.Array(e, "decoders", field);
                var parts = new List<HfDecoder>();
                foreach (JsonElement item in list.EnumerateArray())
                {
                    string itemField = $"{field}.decoders[{parts.Count}]";
                    if (item.ValueKind != JsonValueKind.Object) throw json.Invalid($"{itemField} must be an object");
                    parts.Add(Read(json, item, itemField)!);
                }
                return new Sequence(parts.ToArray());
            }
            default:
                throw json.Unsupported($"{field}.type", type, "ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence");
        }
    }

    /// <summary>Byte symbols back to bytes (other tokens as their UTF-8), all decoded at once with U+FFFD for bad bytes.</summary>
    sealed class ByteLevel : HfDecoder
    {
        public override List<string> DecodeChain(List<string> tokens)
        {
            var bytes = new List<byte>();
            foreach (string token in tokens)
            {
                if (ByteLevelAlphabet.TryGetBytes(token, out byte[] symbolBytes)) bytes.AddRange(symbolBytes);
                else bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
            return [Encoding.UTF8.GetString(bytes.ToArray())];
        }
    }

    sealed class Replace(string pattern, string content) : HfDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) =>
            tokens.Select(t => t.Replace(pattern, content, StringComparison.Ordinal)).ToList();
    }

    /// <summary>Runs of &lt;0xNN&gt; tokens become their UTF-8 text, or one U+FFFD per byte when it is not valid UTF-8.</summary>
    sealed class ByteFallback : HfDecoder
    {
        static readonly UTF8Encoding strict = new(false, throwOnInvalidBytes: true);

        public override List<string> DecodeChain(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            var pending = new List<byte>();
            void Flush()
            {
                if (pending.Count == 0) return;
                try
                {
                    result.Add(strict.GetString(pending.ToArray()));
                }
                catch (DecoderFallbackException)
                {
                    for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD");
                }
                pending.Clear();
            }
            foreach (string token in tokens)
            {
                if (TryParseByte(token, out byte b)) pending.Add(b);
                else
                {
                    Flush();
                    result.Add(token);
                }
            }
            Flush();
            return result;
        }

        // Hugging Face: six bytes long, "<0x" … ">", the middle parsed as a base-16 u8 (Rust accepts a leading '+').
        static bool TryParseByte(string token, out byte value)
        {
            value = 0;
            if (token.Length != 6 || !token.StartsWith("<0x", StringComparison.Ordinal) || token[5] != '>') return false;
            ReadOnlySpan<char> digits = token.AsSpan(3, 2);
            if (digits[0] == '+') digits = digits[1..];
            foreach (char c in digits) if (!char.IsAsciiHexDigit(c)) return false;
            return byte.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
    }

    sealed class Fuse : HfDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
    }

    /// <summary>Removes up to <c>start</c> leading and <c>stop</c> trailing copies of one character from each token.</summary>
    sealed class Strip(string content, int start, int stop) : HfDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) => tokens.Select(StripOne).ToList();

        string StripOne(string token)
        {
            var chars = token.EnumerateRunes().Select(r => r.ToString()).ToArray();
            int startCut = 0;
            for (int i = 0; i < Math.Min(start, chars.Length); i++)
            {
                if (chars[i] != content) break;
                startCut = i + 1;
            }
            int stopCut = chars.Length;
            for (int i = 0; i < Math.Min(stop, chars.Length); i++)
            {
                int index = chars.Length - i - 1;
                if (chars[index] != content) break;
                stopCut = index;
            }
            return stopCut <= startCut ? "" : string.Concat(chars[startCut..stopCut]);
        }
    }

    /// <summary>The replacement becomes a space, except in the first token (dropped there) unless the scheme is "never".</summary>
    sealed class Metaspace(string replacement, string prependScheme) : HfDecoder
    {
        public override List<string> DecodeChain(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            for (int i = 0; i < tokens.Count; i++)
                result.Add(tokens[i].Replace(replacement, i == 0 && prependScheme != "never" ? "" : " ", StringComparison.Ordinal));
            return result;
        }
    }

    sealed class Sequence(HfDecoder[] parts) : HfDecoder
    {
        public override List<string> DecodeChain(List<string> tokens)
        {
            foreach (HfDecoder part in parts) tokens = part.DecodeChain(tokens);
            return tokens;
        }
    }
}
