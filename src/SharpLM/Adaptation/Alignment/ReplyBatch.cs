using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Tokenization;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Alignment;

/// <summary>
/// Prompt + reply sequences as one right-padded batch, aligned for scoring the reply: <see cref="Targets"/>[b, t] is the
/// token after position t and <see cref="Mask"/>[b, t] is 1 where that token belongs to the reply (its content and the
/// end-of-turn token), so per-token log-probs, values and KL line up on the same [B, T−1] grid. A causal model never
/// looks right, so the padding changes nothing before it. Sequences longer than the model's context keep their last
/// tokens (the start of the prompt goes; a reply is never cut).
/// </summary>
public sealed class ReplyBatch : IDisposable
{
    ReplyBatch(Tensor input, Tensor targets, Tensor mask, long[] lastIndex, int[] replyLengths)
    {
        Input = input;
        Targets = targets;
        Mask = mask;
        LastIndex = lastIndex;
        ReplyLengths = replyLengths;
    }

    /// <summary>Token ids [B, T], padded with 0 on the right.</summary>
    public Tensor Input { get; }
    /// <summary>Input shifted left by one [B, T−1]: the token each position predicts.</summary>
    public Tensor Targets { get; }
    /// <summary>float [B, T−1]: 1 where the target is a reply token.</summary>
    public Tensor Mask { get; }
    /// <summary>Per sequence, the position of its last reply token in <see cref="Input"/>: where a reward model reads its score.</summary>
    public long[] LastIndex { get; }
    /// <summary>Per sequence, the number of reply tokens scored.</summary>
    public int[] ReplyLengths { get; }
    /// <summary>Number of sequences.</summary>
    public int Count => LastIndex.Length;

    /// <summary>Pads <paramref name="sequences"/> (token ids with their reply masks) into a batch on <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">A sequence has no reply token, or is too short to score.</exception>
    public static ReplyBatch Create(IReadOnlyList<SftExample> sequences, int contextLength, Device device)
    {
        if (sequences.Count == 0) throw new ArgumentException("no sequences");
        var kept = sequences.Select(s => s.Length <= contextLength ? s : new SftExample(s.Tokens[^contextLength..], s.Trained[^contextLength..])).ToList();
        int length = kept.Max(s => s.Length);
        if (length < 2) throw new ArgumentException("a sequence needs at least two tokens to score");
        var ids = new long[kept.Count * length];
        var targets = new long[kept.Count * (length - 1)];
        var mask = new float[kept.Count * (length - 1)];
        var last = new long[kept.Count];
        var replyLengths = new int[kept.Count];
        for (int b = 0; b < kept.Count; b++)
        {
            var s = kept[b];
            for (int t = 0; t < s.Length; t++) ids[b * length + t] = s.Tokens[t];
            for (int t = 0; t + 1 < s.Length; t++)
            {
                targets[b * (length - 1) + t] = s.Tokens[t + 1];
                if (s.Trained[t + 1]) { mask[b * (length - 1) + t] = 1; replyLengths[b]++; }
            }
            int lastTrained = Array.LastIndexOf(s.Trained, true);
            if (lastTrained < 1 || replyLengths[b] == 0) throw new ArgumentException($"sequence {b} has no reply token after its first token");
            last[b] = lastTrained;
        }
        return new ReplyBatch(
            tensor(ids, new long[] { kept.Count, length }).to(device).DetachFromDisposeScope(),
            tensor(targets, new long[] { kept.Count, length - 1 }).to(device).DetachFromDisposeScope(),
            tensor(mask, new long[] { kept.Count, length - 1 }).to(device).DetachFromDisposeScope(),
            last, replyLengths);
    }

    /// <summary>Log-probabilities [B, T−1] of <see cref="Targets"/> under next-token <paramref name="logits"/> [B, T−1, V] (0 where masked out).</summary>
    public Tensor TokenLogProbs(Tensor logits) =>
        logits.log_softmax(-1).gather(-1, Targets.unsqueeze(-1)).squeeze(-1) * Mask;

    /// <summary>Per-sequence sum [B] of masked per-token values [B, T−1]; divided by the reply length when <paramref name="average"/>.</summary>
    public Tensor SumOverReply(Tensor perToken, bool average = false)
    {
        Tensor sum = (perToken * Mask).sum(1);
        return average ? sum / Mask.sum(1) : sum;
    }

    /// <summary>The hidden state [B, C] at each sequence's last reply token, from final hidden states [B, T, C].</summary>
    public Tensor AtLastReplyToken(Tensor hidden)
    {
        using var index = tensor(LastIndex).to(hidden.device);
        using var rows = arange(hidden.shape[0], device: hidden.device);
        return hidden[rows, index];
    }

    /// <summary>Frees the batch's tensors.</summary>
    public void Dispose()
    {
        Input.Dispose();
        Targets.Dispose();
        Mask.Dispose();
    }
}

/// <summary>Turns prompts and replies into the token sequences <see cref="ReplyBatch"/> scores, through the chat template.</summary>
public static class ReplySequences
{
    /// <summary>prompt turns + the assistant <paramref name="reply"/>, tokenized; the reply and its end-of-turn token are marked.</summary>
    /// <exception cref="InvalidInputException">The tokenizer cannot encode it.</exception>
    public static SftExample Of(IReadOnlyList<Turn> prompt, string reply, ChatTemplate template, ITokenizer tokenizer)
    {
        var chat = template.Tokenize(tokenizer, [.. prompt, Turn.Assistant(reply)]);
        // The newline after <|im_end|> is the template's, not the reply's: leave it off so the reply ends the sequence.
        int last = Array.LastIndexOf(chat.Trained, true);
        return new SftExample(chat.Ids[..(last + 1)], chat.Trained[..(last + 1)]);
    }

    /// <summary>The prompt's ids with the generation prompt, as a model continues it.</summary>
    public static int[] PromptIds(IReadOnlyList<Turn> prompt, ChatTemplate template, ITokenizer tokenizer) =>
        template.Tokenize(tokenizer, prompt, addGenerationPrompt: true).Ids;

    /// <summary>A sampled continuation of <paramref name="promptIds"/>: every completion token is a reply token.</summary>
    public static SftExample OfCompletion(int[] promptIds, IReadOnlyList<int> completion)
    {
        var tokens = promptIds.Concat(completion).ToArray();
        var trained = new bool[tokens.Length];
        for (int i = promptIds.Length; i < tokens.Length; i++) trained[i] = true;
        return new SftExample(tokens, trained);
    }
}
