using System.Text;
using System.Text.Json;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// A <c>normalizer</c> of tokenizer.json: rewrites each stretch of text between added tokens before it is split.
/// Only the kinds real byte-level and SentencePiece-style BPE files use are implemented; anything else is refused
/// when the file is read, because guessing would give different ids from Hugging Face's without any error.
/// </summary>
internal abstract class HfNormalizer
{
    /// <summary>The normalized text (not empty input: Hugging Face never normalizes an empty stretch).</summary>
    public abstract string Normalize(string text);

    /// <summary>Reads the normalizer at <paramref name="field"/>; null when the file has none.</summary>
    public static HfNormalizer? Read(HfJson json, JsonElement? element, string field)
    {
        if (element is not JsonElement e) return null;
        string type = json.Type(e, field);
        switch (type)
        {
            case "NFC":
                return new Nfc();
            case "Prepend":
                return new Prepend(json.String(e, "prepend", field));
            case "Replace":
            {
                var (isRegex, pattern) = json.Pattern(e, field);
                if (isRegex) throw json.Invalid($"{field}.pattern: Regex patterns are not supported (supported: String)");
                if (pattern.Length == 0) throw json.Invalid($"{field}.pattern must not be empty");
                return new Replace(pattern, json.String(e, "content", field));
            }
            case "Sequence":
            {
                JsonElement list = json.Array(e, "normalizers", field);
                var parts = new List<HfNormalizer>();
                foreach (JsonElement item in list.EnumerateArray())
                {
                    string itemField = $"{field}.normalizers[{parts.Count}]";
                    if (item.ValueKind != JsonValueKind.Object) throw json.Invalid($"{itemField} must be an object");
                    parts.Add(Read(json, item, itemField)!);
                }
                return new Sequence(parts.ToArray());
            }
            default:
                throw json.Unsupported($"{field}.type", type, "NFC, Prepend, Replace, Sequence");
        }
    }

    sealed class Nfc : HfNormalizer
    {
        public override string Normalize(string text) => text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
    }

    /// <summary>SentencePiece's dummy prefix: "▁" before every non-empty stretch.</summary>
    sealed class Prepend(string prefix) : HfNormalizer
    {
        public override string Normalize(string text) => text.Length == 0 ? text : prefix + text;
    }

    sealed class Replace(string pattern, string content) : HfNormalizer
    {
        public override string Normalize(string text) => text.Replace(pattern, content, StringComparison.Ordinal);
    }

    sealed class Sequence(HfNormalizer[] parts) : HfNormalizer
    {
        public override string Normalize(string text)
        {
            foreach (HfNormalizer part in parts) text = part.Normalize(text);
            return text;
        }
    }
}
