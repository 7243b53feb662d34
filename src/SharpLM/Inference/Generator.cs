using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Inference;

/// <summary>
/// Autoregressive text generation from a <see cref="Gpt"/>: feeds the prompt, then one sampled token at a time,
/// with or without a KV cache (both give the same tokens), streaming text as it becomes final.
/// </summary>
public sealed class Generator
{
    readonly Gpt model;
    readonly ITokenizer tokenizer;
    readonly Device device;

    public Generator(Gpt model, ITokenizer tokenizer, Device device)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.device = device;
    }

    /// <summary>New token ids after <paramref name="prompt"/>; stops at max_new_tokens or the end-of-text token.</summary>
    public IEnumerable<int> GenerateTokens(IReadOnlyList<int> prompt, SamplingOptions options)
    {
        options.Validate();
        if (prompt.Count == 0) throw new InvalidInputException("prompt: must encode to at least one token");
        model.eval();
        var sampler = new TokenSampler(options);
        var context = new List<int>(prompt);
        int blockSize = model.Config.BlockSize;
        using var cache = options.UseKvCache ? new KvCache(model.Config, 1, device, model.parameters().First().dtype) : null;

        for (int produced = 0; produced < options.MaxNewTokens; produced++)
        {
            float[] logits;
            // Inference mode only around the forward pass: the caller's code between yields runs normally.
            using (var scope = NewDisposeScope())
            using (inference_mode())
            {
                Tensor output;
                if (cache is null) output = model.Forward(Window(context, context.Count - Math.Min(context.Count, blockSize)), null);
                else if (cache.Length > 0 && cache.Length < blockSize && cache.Length == context.Count - 1)
                    output = model.Forward(Window(context, context.Count - 1), cache); // the common case: one new token
                else
                {
                    // First call, or the context outgrew the window: positions shift, so recompute the last block_size tokens.
                    cache.Clear();
                    output = model.Forward(Window(context, context.Count - Math.Min(context.Count, blockSize)), cache);
                }
                logits = output[0, -1].to(ScalarType.Float32).cpu().data<float>().ToArray();
            }
            int next = sampler.Next(logits, context);
            if (next == tokenizer.EndOfTextId) yield break;
            context.Add(next);
            yield return next;
        }
    }

    Tensor Window(List<int> context, int start)
    {
        var ids = new long[context.Count - start];
        for (int i = 0; i < ids.Length; i++) ids[i] = context[start + i];
        return tensor(ids, new long[] { 1, ids.Length }).to(device);
    }

    /// <summary>
    /// Streams generated text. Text is released only when final: not while it ends inside a multi-byte character
    /// or could still become a stop string; generation ends before the first stop string.
    /// </summary>
    public IEnumerable<string> Stream(string prompt, SamplingOptions options)
    {
        var generated = new List<int>();
        int emitted = 0;
        foreach (int id in GenerateTokens(tokenizer.Encode(prompt), options))
        {
            generated.Add(id);
            string text = tokenizer.Decode(generated.ToArray());
            int stop = FirstStop(text, options.StopStrings, emitted);
            if (stop >= 0)
            {
                if (stop > emitted) yield return text[emitted..stop];
                yield break;
            }
            int safe = text.Length - HeldBack(text, options.StopStrings);
            if (safe > emitted)
            {
                yield return text[emitted..safe];
                emitted = safe;
            }
        }
        string rest = tokenizer.Decode(generated.ToArray());
        if (rest.Length > emitted) yield return rest[emitted..];
    }

    public string Generate(string prompt, SamplingOptions options) => string.Concat(Stream(prompt, options));

    static int FirstStop(string text, IReadOnlyList<string> stops, int from)
    {
        int best = -1;
        foreach (string s in stops)
        {
            int i = text.IndexOf(s, Math.Max(0, from - s.Length + 1), StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    /// <summary>Characters at the end that may still change: an incomplete UTF-8 sequence or a stop-string prefix.</summary>
    internal static int HeldBack(string text, IReadOnlyList<string> stops)
    {
        int partial = 0;
        while (partial < text.Length && text[text.Length - 1 - partial] == '\uFFFD') partial++;
        // The incomplete character may be the next character of a stop string, so stop prefixes are matched
        // against the text before it.
        string stable = text[..^partial];
        int hold = partial;
        foreach (string s in stops)
            for (int k = Math.Min(s.Length - 1, stable.Length); k > 0; k--)
                if (stable.EndsWith(s[..k], StringComparison.Ordinal)) { hold = Math.Max(hold, partial + k); break; }
        return hold;
    }
}
