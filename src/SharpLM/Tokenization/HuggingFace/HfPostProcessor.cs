using System.Text.Json;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// A <c>post_processor</c> of tokenizer.json, for a single sequence: what it adds around the encoded ids when
/// special tokens are requested (Llama-3's and Llama-2's TemplateProcessing put &lt;|begin_of_text|&gt; / &lt;s&gt; first).
/// ByteLevel only trims offsets, which SharpLM does not produce, so it adds nothing. Pair templates are not used by
/// <see cref="HuggingFaceTokenizer"/> (it encodes one text at a time) and are not read.
/// </summary>
internal sealed class HfPostProcessor
{
    readonly List<int[]?> items; // null: the sequence itself; else ids to insert.

    HfPostProcessor(List<int[]?> items) => this.items = items;

    /// <summary>The ids <paramref name="sequence"/> becomes with the template applied.</summary>
    public int[] Apply(int[] sequence)
    {
        var result = new List<int>(sequence.Length + 4);
        foreach (int[]? item in items) result.AddRange(item ?? sequence);
        return result.ToArray();
    }

    /// <summary>Reads the post-processor at <paramref name="field"/>; null when it adds nothing to a single sequence.</summary>
    public static HfPostProcessor? Read(HfJson json, JsonElement? element, string field, int vocabSize)
    {
        if (element is not JsonElement e) return null;
        string type = json.Type(e, field);
        switch (type)
        {
            case "ByteLevel":
                json.Bool(e, "trim_offsets", field, absent: true);
                return null;
            case "TemplateProcessing":
                return ReadTemplate(json, e, field, vocabSize);
            case "Sequence":
            {
                HfPostProcessor? template = null;
                JsonElement list = json.Array(e, "processors", field);
                int index = 0;
                foreach (JsonElement item in list.EnumerateArray())
                {
                    string itemField = $"{field}.processors[{index++}]";
                    if (item.ValueKind != JsonValueKind.Object) throw json.Invalid($"{itemField} must be an object");
                    HfPostProcessor? read = Read(json, item, itemField, vocabSize);
                    if (read is null) continue;
                    // Two templates would wrap the result of the first; no real file does that.
                    if (template is not null) throw json.Invalid($"{itemField}: only one TemplateProcessing per Sequence is supported");
                    template = read;
                }
                return template;
            }
            default:
                throw json.Unsupported($"{field}.type", type, "TemplateProcessing, ByteLevel, Sequence");
        }
    }

    static HfPostProcessor ReadTemplate(HfJson json, JsonElement e, string field, int vocabSize)
    {
        if (!e.TryGetProperty("special_tokens", out JsonElement specials) || specials.ValueKind != JsonValueKind.Object)
            throw json.Invalid($"{field}.special_tokens must be an object");
        var idsOf = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (JsonProperty special in specials.EnumerateObject())
        {
            string specialField = $"{field}.special_tokens['{HfJson.Show(special.Name)}']";
            if (special.Value.ValueKind != JsonValueKind.Object) throw json.Invalid($"{specialField} must be an object");
            JsonElement ids = json.Array(special.Value, "ids", specialField);
            var list = new List<int>();
            foreach (JsonElement id in ids.EnumerateArray())
            {
                if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int value) || value < 0 || value >= vocabSize)
                    throw json.Invalid($"{specialField}.ids must hold token ids (0…{vocabSize - 1})");
                list.Add(value);
            }
            idsOf[special.Name] = list.ToArray();
        }

        JsonElement single = json.Array(e, "single", field);
        var items = new List<int[]?>();
        bool sawSequence = false;
        foreach (JsonElement piece in single.EnumerateArray())
        {
            string pieceField = $"{field}.single[{items.Count}]";
            if (piece.ValueKind != JsonValueKind.Object) throw json.Invalid($"{pieceField} must be an object");
            if (piece.TryGetProperty("SpecialToken", out JsonElement special) && special.ValueKind == JsonValueKind.Object)
            {
                string name = json.String(special, "id", $"{pieceField}.SpecialToken");
                items.Add(idsOf.TryGetValue(name, out int[]? ids) ? ids
                    : throw json.Invalid($"{pieceField}.SpecialToken.id '{HfJson.Show(name)}' is not in {field}.special_tokens"));
            }
            else if (piece.TryGetProperty("Sequence", out JsonElement sequence) && sequence.ValueKind == JsonValueKind.Object)
            {
                string id = json.String(sequence, "id", $"{pieceField}.Sequence");
                if (id != "A") throw json.Invalid($"{pieceField}.Sequence.id must be \"A\" in a single template (was '{HfJson.Show(id)}')");
                if (sawSequence) throw json.Invalid($"{pieceField}: the single template may hold the sequence only once");
                sawSequence = true;
                items.Add(null);
            }
            else throw json.Invalid($"{pieceField} must be {{\"SpecialToken\": …}} or {{\"Sequence\": …}}");
        }
        return new HfPostProcessor(items);
    }
}
