using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Inference;

/// <summary>
/// Autoregressive text generation from any <see cref="LanguageModel"/>: feeds the prompt, then one sampled token at
/// a time, with or without incremental decoding (KV cache or recurrent state; both give the same tokens),
/// streaming text as it becomes final. When the tokens outgrow the model's context window
/// (<see cref="LanguageModel.ContextWindow"/>) the state is rebuilt from the tokens still inside it.
/// </summary>
public sealed class Generator
{
    readonly LanguageModel model;
    readonly ITokenizer tokenizer;
    readonly Device device;

    /// <summary>A generator running <paramref name="model"/> on <paramref name="device"/>, with <paramref name="tokenizer"/> for text in and out.</summary>
    public Generator(LanguageModel model, ITokenizer tokenizer, Device device)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.device = device;
    }

    /// <summary>New token ids after <paramref name="prompt"/>; stops at max_new_tokens, the end-of-text token, or a full context.</summary>
    /// <param name="prompt">Token ids to continue.</param>
    /// <param name="options">How tokens are picked and when generation ends.</param>
    /// <param name="cancellation">Checked before every token, so a server can stop a generation whose client left.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    public IEnumerable<int> GenerateTokens(IReadOnlyList<int> prompt, SamplingOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        if (prompt.Count == 0) throw new InvalidInputException("prompt: must encode to at least one token");
        model.eval();
        var sampler = new TokenSampler(options);
        var context = new List<int>(prompt);
        var generated = new List<int>();
        using var state = options.UseKvCache ? model.NewDecodingState(1, device) : null;
        (int PromptStart, int GeneratedStart)? stateWindow = null; // what the state was built from

        for (int produced = 0; produced < options.MaxNewTokens; produced++)
        {
            cancellation.ThrowIfCancellationRequested();
            var window = model.ContextWindow(prompt.Count, generated.Count);
            if (window is not { } w) yield break;
            float[] logits;
            // Inference mode only around the forward pass: the caller's code between yields runs normally.
            using (var scope = NewDisposeScope())
            using (inference_mode())
            {
                Tensor output;
                Tensor promptPart = Ids(prompt, w.PromptStart), generatedPart = Ids(generated, w.GeneratedStart);
                if (state is null) output = model.NextTokenLogits(promptPart, generatedPart);
                else if (stateWindow == w && generated.Count > 0)
                    output = model.Decode(Ids(generated, generated.Count - 1), state); // the common case: one new token
                else
                {
                    // First call, or the window moved: positions shift, so rebuild from the tokens still in view.
                    state.Clear();
                    output = promptPart.shape[1] > 0 ? model.Decode(promptPart, state) : null!;
                    if (generatedPart.shape[1] > 0) output = model.Decode(generatedPart, state);
                    stateWindow = w;
                }
                if (output.dim() == 3) output = output[.., -1];
                logits = output[0].to(ScalarType.Float32).cpu().data<float>().ToArray();
            }
            int next = sampler.Next(logits, context);
            if (next == tokenizer.EndOfTextId) yield break;
            context.Add(next);
            generated.Add(next);
            yield return next;
        }
    }

    Tensor Ids(IReadOnlyList<int> tokens, int start)
    {
        var ids = new long[tokens.Count - start];
        for (int i = 0; i < ids.Length; i++) ids[i] = tokens[start + i];
        return tensor(ids, new long[] { 1, ids.Length }).to(device);
    }

    /// <summary>
    /// Streams generated text. Text is released only when final: not while it ends inside a multi-byte character
    /// or could still become a stop string; generation ends before the first stop string.
    /// </summary>
    /// <param name="prompt">Text to continue.</param>
    /// <param name="options">How tokens are picked and when generation ends.</param>
    /// <param name="cancellation">Checked before every token, whether or not any text has been released yet.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    public IEnumerable<string> Stream(string prompt, SamplingOptions options, CancellationToken cancellation = default)
    {
        var text = new StreamedText(tokenizer, options.StopStrings);
        foreach (int id in GenerateTokens(tokenizer.Encode(prompt), options, cancellation))
        {
            string piece = text.Add(id);
            if (piece.Length > 0) yield return piece;
            if (text.Stopped) yield break;
        }
        string rest = text.Flush();
        if (rest.Length > 0) yield return rest;
    }

    /// <summary>The whole generated text of <see cref="Stream"/>, stop string excluded.</summary>
    /// <param name="prompt">Text to continue.</param>
    /// <param name="options">How tokens are picked and when generation ends.</param>
    /// <param name="cancellation">Checked before every token.</param>
    public string Generate(string prompt, SamplingOptions options, CancellationToken cancellation = default) =>
        string.Concat(Stream(prompt, options, cancellation));

    internal static int FirstStop(string text, IReadOnlyList<string> stops, int from)
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
    /// <remarks>
    /// Runs once per token, so it must not grow with the stop strings squared: a stop prefix at the end is shorter
    /// than the stop string, so only that tail of the text is read, once, by a KMP automaton (linear in the stop
    /// string's length), instead of comparing every prefix of the stop string with the text's end.
    /// </remarks>
    internal static int HeldBack(string text, IReadOnlyList<string> stops)
    {
        int partial = 0;
        while (partial < text.Length && text[text.Length - 1 - partial] == '\uFFFD') partial++;
        // The incomplete character may be the next character of a stop string, so stop prefixes are matched
        // against the text before it.
        ReadOnlySpan<char> stable = text.AsSpan(0, text.Length - partial);
        int hold = partial;
        foreach (string s in stops)
        {
            int k = LongestPrefixAtEnd(stable, s);
            if (k > 0) hold = Math.Max(hold, partial + k);
        }
        return hold;
    }

    /// <summary>The longest proper prefix of <paramref name="stop"/> that <paramref name="text"/> ends with (0 if none).</summary>
    internal static int LongestPrefixAtEnd(ReadOnlySpan<char> text, string stop)
    {
        if (stop.Length < 2) return 0;
        // Only the last stop.Length - 1 characters can hold a proper prefix.
        ReadOnlySpan<char> tail = text.Length >= stop.Length ? text[^(stop.Length - 1)..] : text;
        // failure[i]: length of the longest proper border of stop[..(i + 1)].
        int[] failure = new int[stop.Length];
        for (int i = 1, k = 0; i < stop.Length; i++)
        {
            while (k > 0 && stop[i] != stop[k]) k = failure[k - 1];
            if (stop[i] == stop[k]) k++;
            failure[i] = k;
        }
        int matched = 0;
        foreach (char c in tail)
        {
            while (matched > 0 && c != stop[matched]) matched = failure[matched - 1];
            if (c == stop[matched]) matched++;
            // A whole stop string is found by FirstStop; here keep looking for a proper prefix.
            if (matched == stop.Length) matched = failure[matched - 1];
        }
        return matched;
    }
}
