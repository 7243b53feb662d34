using SharpLM.Data.Dedup;
using SharpLM.Data.Privacy;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// One document on its way through the stages: what the parallel halves found out about it (filter outcomes,
/// dedup keys, a redaction), then what the ordered halves decided. Each stage writes only its own fields, so the
/// parallel halves of different documents never share state.
/// </summary>
public sealed class CleaningItem
{
    /// <summary>A document about to enter a pipeline of <paramref name="stages"/> stages.</summary>
    public CleaningItem(Document original, int stages)
    {
        Original = original;
        Current = original;
        BytesIn = System.Text.Encoding.UTF8.GetByteCount(original.Text);
        Bytes = BytesIn;
        BytesOut = new long[stages];
        Reasons = new string?[stages];
    }

    /// <summary>The document as read: what the rejected file gets.</summary>
    public Document Original { get; }
    /// <summary>The document as the stages have left it so far (filters may shorten it, line dedup and PII rewrite it).</summary>
    public Document Current { get; internal set; }
    /// <summary>UTF-8 bytes of the document as read.</summary>
    public long BytesIn { get; }
    /// <summary>UTF-8 bytes of <see cref="Current"/> as the ordered halves account for it.</summary>
    public long Bytes { get; internal set; }
    /// <summary>True once a parallel half rejected the document: later stages skip it.</summary>
    public bool Stopped { get; internal set; }
    /// <summary>Per stage index: UTF-8 bytes its parallel half passed on (filters).</summary>
    internal long[] BytesOut { get; }
    /// <summary>Per stage index: the reason its parallel half rejected the document, if it did.</summary>
    internal string?[] Reasons { get; }

    internal ContaminationHit? Contamination { get; set; }
    internal UInt128 ExactKey { get; set; }
    internal uint[]? Signature { get; set; }
    internal LineHashes? Lines { get; set; }
    internal RedactionResult? Redacted { get; set; }
    /// <summary>Set when line dedup rewrote the text after the parallel redaction was made from the old one.</summary>
    internal bool RedactionStale { get; set; }
}
