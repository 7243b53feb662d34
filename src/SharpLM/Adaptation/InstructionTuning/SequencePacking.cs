using static TorchSharp.torch;

namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>
/// Rows of a packed batch: several short examples side by side in one block_size window, each its own segment, so
/// a batch wastes no compute on padding. Segment ids keep attention (and positions) inside each example
/// (<see cref="Modeling.Gpt.ForwardPacked"/>). Labels are each position's next token within its example (−1 at
/// an example's last position and in padding); the loss mask says which labels count: those that are trained
/// tokens (responses and their end-of-turn), never a prompt token.
/// </summary>
public sealed record PackedRows(long[] Tokens, long[] Labels, bool[] LossMask, long[] Segments, int Rows, int Length)
{
    /// <summary>The four arrays as [Rows, Length] tensors on <paramref name="device"/>: token ids, labels and segment ids
    /// as int64, the loss mask as bool.</summary>
    public (Tensor Tokens, Tensor Labels, Tensor LossMask, Tensor Segments) ToTensors(Device device)
    {
        long[] shape = { Rows, Length };
        return (tensor(Tokens, shape).to(device), tensor(Labels, shape).to(device), tensor(LossMask, shape).to(device), tensor(Segments, shape).to(device));
    }

    /// <summary>Labels that carry loss.</summary>
    public int TrainedTokens => LossMask.Count(m => m);
}

/// <summary>Greedy first-fit packing of examples into rows of at most block_size tokens.</summary>
public static class SequencePacking
{
    /// <summary>
    /// Packs <paramref name="examples"/> in order into rows of <paramref name="length"/> tokens: each example goes
    /// into the first row with room (first-fit), else a new row. An example longer than a row keeps its last
    /// <paramref name="length"/> tokens (the response end, which carries the loss). Padding tokens are id 0 in a
    /// segment of their own (−1 labels).
    /// </summary>
    /// <param name="examples">The examples, in the order they are packed.</param>
    /// <param name="length">Tokens per row (block_size); at least 2.</param>
    /// <param name="rowsPerBatch">Rows per returned batch; the last batch may have fewer.</param>
    /// <param name="onePerRow">No packing: each example gets a row of its own (padding after it), for models that
    /// cannot separate segments, such as a prompt-tuned one whose soft prompt belongs to the row's one example.</param>
    public static List<PackedRows> Pack(IReadOnlyList<SftExample> examples, int length, int rowsPerBatch, bool onePerRow = false)
    {
        if (length < 2) throw new ArgumentOutOfRangeException(nameof(length), "rows need at least 2 tokens");
        var rows = new List<List<SftExample>>();
        var used = new List<int>();
        foreach (var raw in examples)
        {
            var e = raw.Length <= length ? raw : new SftExample(raw.Tokens[^length..], raw.Trained[^length..]);
            int row = onePerRow ? -1 : used.FindIndex(u => u + e.Length <= length);
            if (row < 0)
            {
                rows.Add(new List<SftExample>());
                used.Add(0);
                row = rows.Count - 1;
            }
            rows[row].Add(e);
            used[row] += e.Length;
        }
        var batches = new List<PackedRows>();
        for (int start = 0; start < rows.Count; start += rowsPerBatch)
        {
            var chunk = rows.Skip(start).Take(rowsPerBatch).ToList();
            var tokens = new long[chunk.Count * length];
            var labels = new long[chunk.Count * length];
            var mask = new bool[chunk.Count * length];
            var segments = new long[chunk.Count * length];
            for (int r = 0; r < chunk.Count; r++)
            {
                int at = r * length, segment = 0;
                foreach (var e in chunk[r])
                {
                    for (int i = 0; i < e.Length; i++)
                    {
                        tokens[at + i] = e.Tokens[i];
                        segments[at + i] = segment;
                        // Position i predicts token i + 1 of the same example; it counts if that token is trained.
                        labels[at + i] = i + 1 < e.Length ? e.Tokens[i + 1] : -1;
                        mask[at + i] = i + 1 < e.Length && e.Trained[i + 1];
                    }
                    at += e.Length;
                    segment++;
                }
                for (; at < (r + 1) * length; at++)
                {
                    segments[at] = segment; // padding: its own segment, never attended to by real tokens
                    labels[at] = -1;
                }
            }
            batches.Add(new PackedRows(tokens, labels, mask, segments, chunk.Count, length));
        }
        return batches;
    }
}
