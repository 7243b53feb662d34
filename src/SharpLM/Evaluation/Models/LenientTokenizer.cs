using System.Globalization;
using SharpLM.Tokenization;

namespace SharpLM.Evaluation.Models;

/// <summary>
/// A tokenizer that encodes what it can: when the inner tokenizer refuses a text (a character-level model never saw
/// the digits in a GSM8K question, say), the characters it has ids for are encoded one at a time and the others
/// dropped and counted. Benchmarks are then still scored, as a model with an unknown token would be, and the report
/// says how many characters the model could not see. Byte-level tokenizers never refuse, so this changes nothing there.
/// </summary>
public sealed class LenientTokenizer(ITokenizer inner) : ITokenizer
{
    long dropped;

    /// <summary>Characters dropped so far because the inner tokenizer has no id for them.</summary>
    public long DroppedCharacters => Interlocked.Read(ref dropped);

    /// <summary>The inner tokenizer's kind.</summary>
    public string Kind => inner.Kind;
    /// <summary>The inner tokenizer's vocabulary size.</summary>
    public int VocabSize => inner.VocabSize;
    /// <summary>The inner tokenizer's end-of-text id, or null.</summary>
    public int? EndOfTextId => inner.EndOfTextId;
    /// <summary>The inner tokenizer's special tokens and their ids.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokenIds => inner.SpecialTokenIds;
    /// <summary>Decodes with the inner tokenizer.</summary>
    public string Decode(ReadOnlySpan<int> ids) => inner.Decode(ids);
    /// <summary>Saves the inner tokenizer (there is nothing lenient to save).</summary>
    public void Save(string directory) => inner.Save(directory);

    /// <summary>The inner tokenizer's ids for <paramref name="text"/>; if it refuses the text, the ids of each text element
    /// (a character or grapheme cluster) it can encode, the others dropped and counted in <see cref="DroppedCharacters"/>.</summary>
    public int[] Encode(string text)
    {
        try { return inner.Encode(text); }
        catch (InvalidInputException)
        {
            var ids = new List<int>();
            for (var e = StringInfo.GetTextElementEnumerator(text); e.MoveNext();)
            {
                try { ids.AddRange(inner.Encode((string)e.Current)); }
                catch (InvalidInputException) { Interlocked.Increment(ref dropped); }
            }
            return ids.ToArray();
        }
    }
}
