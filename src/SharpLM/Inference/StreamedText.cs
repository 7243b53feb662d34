using SharpLM.Tokenization;

namespace SharpLM.Inference;

/// <summary>
/// The text of a generation as it grows one token at a time, released only when final: not while it ends inside a
/// multi-byte character or could still become a stop string. Generation ends before the first stop string
/// (<see cref="Stopped"/>). Shared by <see cref="Generator.Stream"/> and the continuous batcher, so a batched
/// request streams exactly the text a lone one does.
/// </summary>
public sealed class StreamedText(ITokenizer tokenizer, IReadOnlyList<string> stops)
{
    readonly List<int> ids = [];
    int emitted;

    /// <summary>A stop string has appeared: nothing after it is released, and generation should end.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Text released so far.</summary>
    public int ReleasedLength => emitted;

    /// <summary>Adds the next generated token and returns the text that became final with it (often empty).</summary>
    public string Add(int id)
    {
        if (Stopped) throw new InvalidOperationException("the text already ended at a stop string");
        ids.Add(id);
        string text = tokenizer.Decode(ids.ToArray());
        int stop = Generator.FirstStop(text, stops, emitted);
        if (stop >= 0)
        {
            Stopped = true;
            return Release(text, stop);
        }
        return Release(text, text.Length - Generator.HeldBack(text, stops));
    }

    /// <summary>At the end of generation: whatever was still held back (a stop-string prefix that never completed).</summary>
    public string Flush() => Stopped ? "" : Release(tokenizer.Decode(ids.ToArray()), int.MaxValue);

    string Release(string text, int upTo)
    {
        upTo = Math.Min(upTo, text.Length);
        if (upTo <= emitted) return "";
        string piece = text[emitted..upTo];
        emitted = upTo;
        return piece;
    }
}
