using System.Text.Json;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// A stretch of text on its way through pre-tokenization: a slice of <see cref="Text"/>. <see cref="AtStart"/> says
/// whether it begins at offset 0 of the input, which Metaspace's prepend_scheme "first" looks at.
/// </summary>
internal readonly record struct HfPiece(string Text, int Start, int Length, bool AtStart)
{
    /// <summary>The characters of the piece.</summary>
    public ReadOnlySpan<char> Span => Text.AsSpan(Start, Length);
}

/// <summary>
/// A <c>pre_tokenizer</c> of tokenizer.json: splits normalized text into the words BPE encodes one at a time (merges
/// never cross a word boundary). Implemented: ByteLevel (GPT-2's regex, optional prefix space), Split with the
/// GPT-2, Llama-3 or Qwen2 pattern (behavior Isolated), Metaspace, and Sequence of these.
/// </summary>
internal abstract class HfPreTokenizer
{
    /// <summary>Appends the pieces of <paramref name="piece"/> to <paramref name="output"/>.</summary>
    public abstract void Split(HfPiece piece, List<HfPiece> output);

    /// <summary>True when the model must see UTF-8 bytes (a ByteLevel pre-tokenizer is in the pipeline).</summary>
    public virtual bool IsByteLevel => false;

    /// <summary>Reads the pre-tokenizer at <paramref name="field"/>; null when the file has none.</summary>
    public static HfPreTokenizer? Read(HfJson json, JsonElement? element, string field)
    {
        if (element is not JsonElement e) return null;
        string type = json.Type(e, field);
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevel(json.Bool(e, "add_prefix_space", field, absent: true), json.Bool(e, "use_regex", field, absent: true));
            case "Split":
            {
                var (isRegex, pattern) = json.Pattern(e, field);
                string behavior = json.String(e, "behavior", field);
                if (behavior != "Isolated") throw json.Unsupported($"{field}.behavior", behavior, "Isolated");
                if (json.Bool(e, "invert", field, absent: false)) throw json.Invalid($"{field}.invert true is not supported");
                if (!isRegex) throw json.Invalid($"{field}.pattern: String patterns are not supported (supported: the GPT-2, Llama-3 and Qwen2 regexes)");
                return pattern switch
                {
                    Llama3PreTokenizer.Llama3Pattern => new PatternSplit(text => Llama3PreTokenizer.FirstPieceLength(text, 3)),
                    Llama3PreTokenizer.Qwen2Pattern => new PatternSplit(text => Llama3PreTokenizer.FirstPieceLength(text, 1)),
                    GptPreTokenizer.Pattern => new PatternSplit(GptPreTokenizer.FirstPieceLength),
                    _ => throw json.Invalid($"{field}.pattern: regex '{HfJson.Show(pattern)}' is not supported (supported: the GPT-2, Llama-3 and Qwen2 patterns)"),
                };
            }
            case "Metaspace":
                return new Metaspace(json.Char(e, "replacement", field), ReadPrependScheme(json, e, field), json.Bool(e, "split", field, absent: true));
            case "Sequence":
            {
                JsonElement list = json.Array(e, "pretokenizers", field);
                var parts = new List<HfPreTokenizer>();
                foreach (JsonElement item in list.EnumerateArray())
                {
                    string itemField = $"{field}.pretokenizers[{parts.Count}]";
                    if (item.ValueKind != JsonValueKind.Object) throw json.Invalid($"{itemField} must be an object");
                    HfPreTokenizer part = Read(json, item, itemField)!;
                    // ByteLevel turns text into byte symbols; a split after it would see those, which we do not model.
                    if (parts.Count > 0 && parts[^1].IsByteLevel)
                        throw json.Invalid($"{itemField}: nothing may follow a ByteLevel pre-tokenizer in a Sequence");
                    parts.Add(part);
                }
                return new Sequence(parts.ToArray());
            }
            default:
                throw json.Unsupported($"{field}.type", type, "ByteLevel, Split, Metaspace, Sequence");
        }
    }

    /// <summary>Metaspace's prepend_scheme, with the older add_prefix_space spelling mapped as Hugging Face maps it.</summary>
    internal static string ReadPrependScheme(HfJson json, JsonElement e, string field)
    {
        string scheme = json.OptionalString(e, "prepend_scheme", field) ?? "always";
        if (scheme is not ("always" or "first" or "never")) throw json.Unsupported($"{field}.prepend_scheme", scheme, "always, first, never");
        if (e.TryGetProperty("add_prefix_space", out _) && !json.Bool(e, "add_prefix_space", field, absent: true))
        {
            if (scheme != "never")
                throw json.Invalid($"{field}.add_prefix_space false contradicts prepend_scheme '{scheme}'");
            scheme = "never";
        }
        return scheme;
    }

    /// <summary>GPT-2's: an optional leading space, then its regex; the bytes are mapped by the model.</summary>
    sealed class ByteLevel(bool addPrefixSpace, bool useRegex) : HfPreTokenizer
    {
        public override bool IsByteLevel => true;

        public override void Split(HfPiece piece, List<HfPiece> output)
        {
            if (addPrefixSpace && piece.Span[0] != ' ')
                piece = new HfPiece(" " + piece.Span.ToString(), 0, piece.Length + 1, piece.AtStart);
            if (!useRegex)
            {
                output.Add(piece);
                return;
            }
            SplitWith(piece, GptPreTokenizer.FirstPieceLength, output);
        }
    }

    sealed class PatternSplit(PieceLength firstPieceLength) : HfPreTokenizer
    {
        public override void Split(HfPiece piece, List<HfPiece> output) => SplitWith(piece, firstPieceLength, output);
    }

    /// <summary>Spaces become the replacement ("▁"), which is prepended per the scheme; split=true cuts before each.</summary>
    sealed class Metaspace(string replacement, string prependScheme, bool split) : HfPreTokenizer
    {
        public override void Split(HfPiece piece, List<HfPiece> output)
        {
            string text = piece.Span.ToString().Replace(" ", replacement, StringComparison.Ordinal);
            bool prepend = prependScheme == "always" || (prependScheme == "first" && piece.AtStart);
            if (prepend && !text.StartsWith(replacement, StringComparison.Ordinal)) text = replacement + text;
            if (!split)
            {
                output.Add(new HfPiece(text, 0, text.Length, piece.AtStart));
                return;
            }
            // MergedWithNext: every replacement starts a new piece.
            int start = 0;
            for (int i = 1; i <= text.Length; i++)
            {
                if (i < text.Length && !text.AsSpan(i).StartsWith(replacement, StringComparison.Ordinal)) continue;
                output.Add(new HfPiece(text, start, i - start, piece.AtStart && start == 0));
                start = i;
            }
        }
    }

    sealed class Sequence(HfPreTokenizer[] parts) : HfPreTokenizer
    {
        public override bool IsByteLevel => parts.Length > 0 && parts[^1].IsByteLevel;

        public override void Split(HfPiece piece, List<HfPiece> output)
        {
            var current = new List<HfPiece> { piece };
            var next = new List<HfPiece>();
            foreach (HfPreTokenizer part in parts)
            {
                next.Clear();
                foreach (HfPiece p in current) part.Split(p, next);
                (current, next) = (next, current);
            }
            output.AddRange(current);
        }
    }

    internal delegate int PieceLength(ReadOnlySpan<char> text);

    static void SplitWith(HfPiece piece, PieceLength firstPieceLength, List<HfPiece> output)
    {
        int at = piece.Start, end = piece.Start + piece.Length;
        while (at < end)
        {
            int length = firstPieceLength(piece.Text.AsSpan(at, end - at));
            output.Add(new HfPiece(piece.Text, at, length, piece.AtStart && at == piece.Start));
            at += length;
        }
    }
}
