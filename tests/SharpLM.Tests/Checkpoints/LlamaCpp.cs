using LLama;
using LLama.Native;

namespace SharpLM.Tests.Checkpoints;

/// <summary>llama.cpp (through LLamaSharp) driven by token ids, for comparisons with SharpLM; shared with the GGUF benchmark.</summary>
internal static class LlamaCpp
{
    /// <summary>Greedy decoding from token ids: the prompt in one batch, then one token at a time, argmax of the logits.</summary>
    public static int[] Greedy(LLamaContext context, int[] prompt, int n)
    {
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        var output = new List<int>();
        for (int pos = prompt.Length; output.Count < n; pos++)
        {
            if (context.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("llama.cpp decode failed");
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
            output.Add(best);
            batch.Clear();
            batch.Add(best, pos, LLamaSeqId.Zero, true);
        }
        return output.ToArray();
    }
}
