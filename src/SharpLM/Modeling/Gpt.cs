using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// GPT: a causal Transformer decoder. Token embeddings (plus learned or sinusoidal position embeddings) → n_layer
/// blocks → final norm (none after post-norm blocks, whose output is already normalised) → logits over the
/// vocabulary (tied to the token embedding by default). Read top to bottom like nanoGPT. RoPE, ALiBi and T5
/// encode positions inside attention instead (<see cref="AttentionInputs"/>).
/// <para>For fine-tuning it also runs packed rows (<see cref="ForwardPacked"/>), grows its vocabulary
/// (<see cref="ResizeVocabulary"/>), and offers the seams parameter-efficient methods attach to: deltas on any
/// Linear layer (<see cref="LinearDeltas"/>, LoRA), modules after each sublayer (adapters), keys/values before every
/// layer's own (<see cref="IKeyValuePrefix"/>, prefix tuning) and embeddings before the input
/// (<see cref="IInputPrefix"/>, prompt tuning).</para>
/// </summary>
public class Gpt : LanguageModel
{
    readonly Embedding wte;
    readonly Embedding? wpe;
    readonly TokenShift? token_shift;
    readonly RelativePositionBias? relative_bias;
    readonly Dropout? drop;
    readonly ModuleList<TransformerBlock> h;
    readonly nn.Module<Tensor, Tensor>? ln_f;
    readonly Linear? lm_head;
    // Prefix methods (prompt tuning, prefix tuning); null until attached.
    IInputPrefix? inputPrefix;
    IKeyValuePrefix? keyValuePrefix;

    /// <summary>A freshly initialised GPT as <paramref name="config"/> describes it.</summary>
    /// <exception cref="ArgumentException">The config's type is not "transformer".</exception>
    public Gpt(ModelConfig config) : this(config, initialize: true) { }

    /// <summary>
    /// A GPT whose weights are about to be overwritten (a checkpoint loader): without <paramref name="initialize"/> it
    /// skips GPT-2's initialisation, a pass of random numbers over every weight (a third of a 124M model's load time).
    /// </summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="initialize">Draw GPT-2's initial weights.</param>
    /// <param name="parallel">Blocks holding only this rank's heads and units (<see cref="Parallel.TensorParallel.ShardOf"/> fills them).</param>
    internal Gpt(ModelConfig config, bool initialize, Parallel.TensorParallel? parallel = null) : base(nameof(Gpt), config)
    {
        if (config.Type != "transformer") throw new ArgumentException($"Gpt is a Transformer; model type '{config.Type}' is built by LanguageModel.Create");
        wte = nn.Embedding(config.VocabSize, config.NEmbd);
        wpe = Embeddings.LearnedPositions(config);
        if (config.TokenShift > 0) token_shift = new TokenShift(config.TokenShift, config.NEmbd);
        if (config.PositionEncoding == "t5") relative_bias = new RelativePositionBias(config);
        if (config.Dropout > 0) drop = nn.Dropout(config.Dropout);
        h = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.NLayer).Select(_ => new TransformerBlock(config, parallel: parallel)).ToArray());
        if (config.NormPlacement != "post") ln_f = Norms.Create(config);
        // Tied weights are not a second module: a shared Parameter would be listed twice and updated twice.
        if (!config.TieEmbeddings) lm_head = nn.Linear(config.NEmbd, config.VocabSize, hasBias: false);
        RegisterComponents();
        if (initialize) InitializeWeights();
    }

    /// <summary>Logits [B, T, V] for token ids <paramref name="idx"/> [B, T].</summary>
    public override Tensor forward(Tensor idx) => Forward(idx, null);

    /// <summary>
    /// With a <paramref name="cache"/>, <paramref name="idx"/> holds only the new tokens; their positions continue
    /// from <see cref="DecodingState.Length"/>, and the cache is extended.
    /// </summary>
    public Tensor Forward(Tensor idx, KvCache? cache) => Forward(idx, cache, null);

    /// <summary>
    /// Logits [B, T, V] for packed rows: <paramref name="idx"/> [B, T] holds several examples per row, and
    /// <paramref name="segmentIds"/> [B, T] says which tokens belong together (<see cref="PackedRows"/>). Each
    /// token attends causally within its segment only, and positions restart at 0 at each segment, for every
    /// position encoding, so each segment's logits are those it would get alone.
    /// </summary>
    public Tensor ForwardPacked(Tensor idx, Tensor segmentIds)
    {
        if (!idx.shape.SequenceEqual(segmentIds.shape))
            throw new ArgumentException($"segment ids [{string.Join(", ", segmentIds.shape)}] must have the shape of the tokens [{string.Join(", ", idx.shape)}]");
        if (inputPrefix is not null)
            throw new InvalidOperationException("prompt tuning prepends one soft prompt per row, not per packed segment: run packed rows without it");
        var (positions, visible) = PackedRows.Layout(segmentIds);
        return Run(idx, null, visible, positions);
    }

    /// <summary>
    /// Mean next-token cross-entropy of packed rows (<see cref="ForwardPacked"/>) against <paramref name="targets"/>
    /// [B, T]; targets of −1 are ignored — set them at each segment's last token (its target would be the next
    /// example's first token) and wherever the loss should not count (prompts, padding).
    /// </summary>
    public Tensor LossPacked(Tensor idx, Tensor segmentIds, Tensor targets) => CrossEntropy(ForwardPacked(idx, segmentIds), targets);

    /// <summary>
    /// As <see cref="Forward(Tensor, KvCache?)"/>, with <paramref name="visible"/> (boolean, [T, start+T] or
    /// [B, 1, T, start+T]) replacing the causal mask: how a prefix decoder lets its prefix attend bidirectionally.
    /// </summary>
    protected Tensor Forward(Tensor idx, KvCache? cache, Tensor? visible) => Run(idx, cache, visible, null);

    /// <summary>
    /// The final hidden states [B, T, n_embd] for <paramref name="idx"/> [B, T] — after the last norm, what the output
    /// head reads (<see cref="OutputLogits"/>). Scalar heads attach here: a reward model's score, PPO's value head.
    /// </summary>
    public Tensor ForwardHidden(Tensor idx) => Run(idx, null, null, null, headless: true);

    /// <summary>
    /// Recompute each block in backward instead of keeping its activations (<see cref="ActivationCheckpoint"/>), while
    /// gradients are recorded; set by the trainer from training.activation_checkpointing.
    /// </summary>
    public bool ActivationCheckpointing { get; set; }

    /// <summary>Next-token logits [.., V] from final hidden states (<see cref="ForwardHidden"/>): the output head.</summary>
    public Tensor OutputLogits(Tensor hidden) => Embeddings.Logits(hidden, wte, lm_head);

    /// <param name="idx">Token ids [B, T].</param>
    /// <param name="cache">The KV cache to read and extend, or null.</param>
    /// <param name="visible">A mask replacing the causal rule, or null.</param>
    /// <param name="positions">Per-token positions [B, T] (packed rows); null = start … start+T−1.</param>
    /// <param name="headless">Return the final hidden states instead of logits.</param>
    /// <param name="rows">A batched pass over a <see cref="SlotKvCache"/> instead of <paramref name="cache"/>: it gives the positions and mask.</param>
    Tensor Run(Tensor idx, KvCache? cache, Tensor? visible, Tensor? positions, bool headless = false, SlotKvCache.Pass? rows = null)
    {
        long t = idx.shape[1];
        int start = cache?.Length ?? 0;
        positions ??= rows?.Positions;
        // Position tables are indexed by absolute position: up to t for packed rows, up to the longest slot for a batch.
        long span = rows?.KeyLength ?? t;

        Tensor x = wte.forward(idx);
        if (token_shift is not null)
        {
            (x, Tensor last) = token_shift.Apply(x, start > 0 ? cache!.LastEmbeddings : null, positions);
            if (cache is not null) cache.LastEmbeddings = last;
        }
        int prompt = 0;
        if (inputPrefix is not null && start == 0)
        {
            // Prompt tuning: the soft prompt takes positions 0 … P−1 in front of the tokens (and in the cache).
            Tensor soft = inputPrefix.Embeddings().to(x.dtype);
            prompt = (int)soft.shape[0];
            x = cat(new[] { soft.unsqueeze(0).expand(x.shape[0], -1, -1), x }, 1);
            if (visible is not null) visible = WithPromptInFront(visible, prompt);
            t += prompt;
        }
        if (start + t > Config.BlockSize)
            throw new ArgumentException(prompt == 0
                ? $"sequence of {start + t} tokens exceeds the context length {Config.BlockSize}"
                : $"sequence of {start + t - prompt} tokens and a {prompt}-token soft prompt exceeds the context length {Config.BlockSize}");

        x = Embeddings.AddPositions(x, wpe, Config, start, t, positions, span);
        if (drop is not null) x = drop.forward(x);

        Tensor? bias = Embeddings.AttentionBias(Config, relative_bias, start, t, idx.device);
        var inputs = rows is null
            ? AttentionInputs.Create(Config, start, t, bias, idx.device, x.dtype, visible, positions)
            : AttentionInputs.ForRows(Config, rows, idx.device);
        if (keyValuePrefix is not null)
        {
            var (keys, values) = keyValuePrefix.Compute();
            inputs = inputs.WithKeyValuePrefix(keys, values, t);
        }
        IKeyValueCache? keyValues = rows is not null ? rows : cache;
        for (int i = 0; i < h.Count; i++)
        {
            int layer = i;
            x = ActivationCheckpointing && keyValues is null && is_grad_enabled() && keyValuePrefix is null
                ? ActivationCheckpoint.Run(x, input => h[layer].Forward(input, null, layer, inputs))
                : h[i].Forward(x, keyValues, i, inputs);
        }
        cache?.Advance((int)t);
        if (prompt > 0) x = x[.., prompt..];
        if (ln_f is not null) x = ln_f.forward(x);
        return headless ? x : OutputLogits(x);
    }

    /// <summary>
    /// A mask over the tokens ([.., T, S]) widened for a soft prompt of <paramref name="prompt"/> positions in front:
    /// the prompt attends causally within itself and every token sees the whole prompt, as it would any earlier
    /// position (a prefix decoder's bidirectional prefix stays bidirectional among the tokens).
    /// </summary>
    static Tensor WithPromptInFront(Tensor visible, int prompt)
    {
        long[] shape = visible.shape.ToArray();
        long rows = shape[^2], cols = shape[^1];
        long[] lead = shape[..^2];
        long[] promptShape = lead.Append(prompt).Append(prompt + cols).ToArray();
        long[] leftShape = lead.Append(rows).Append(prompt).ToArray();
        Tensor promptRows = ones(new long[] { prompt, prompt + cols }, ScalarType.Bool, visible.device).tril().expand(promptShape);
        Tensor tokenRows = cat(new[] { ones(leftShape, ScalarType.Bool, visible.device), visible }, -1);
        return cat(new[] { promptRows, tokenRows }, -2);
    }

    /// <summary>block_size less the soft prompt's positions, when prompt tuning is attached.</summary>
    public override int ContextLength => Config.BlockSize - (inputPrefix?.Length ?? 0);

    /// <summary>The blocks, for methods that attach to each layer (adapters).</summary>
    public IReadOnlyList<TransformerBlock> Blocks => h.ToList();

    /// <summary>The token embedding table [V, n_embd] (prompt tuning initialises its soft prompt from it).</summary>
    internal Tensor TokenEmbeddingWeight => wte.weight!;

    /// <summary>The untied output head, or null when it is the token embedding.</summary>
    internal Linear? OutputHead => lm_head;

    /// <summary>Attaches prompt tuning's soft prompt (registered as "prompt_tuning"; see <see cref="IInputPrefix"/>).</summary>
    internal void AttachInputPrefix<T>(T prefix) where T : nn.Module, IInputPrefix
    {
        if (inputPrefix is not null || keyValuePrefix is not null) throw new InvalidOperationException("the model already has a prefix method attached");
        if (prefix.Length >= Config.BlockSize) throw new InvalidInputException($"prompt tuning: {prefix.Length} soft-prompt positions leave no room in a {Config.BlockSize}-position context");
        register_module("prompt_tuning", prefix);
        inputPrefix = prefix;
    }

    /// <summary>Attaches prefix tuning's per-layer keys and values (registered as "prefix_tuning"; see <see cref="IKeyValuePrefix"/>).</summary>
    internal void AttachKeyValuePrefix<T>(T prefix) where T : nn.Module, IKeyValuePrefix
    {
        if (inputPrefix is not null || keyValuePrefix is not null) throw new InvalidOperationException("the model already has a prefix method attached");
        register_module("prefix_tuning", prefix);
        keyValuePrefix = prefix;
    }

    /// <summary>Replaces the attached key/value prefix (prefix tuning collapsing its re-parameterisation).</summary>
    internal void ReplaceKeyValuePrefix<T>(T prefix) where T : nn.Module, IKeyValuePrefix
    {
        register_module("prefix_tuning", null!);
        keyValuePrefix = null;
        AttachKeyValuePrefix(prefix);
    }

    /// <summary>
    /// Grows the vocabulary to <paramref name="newSize"/> tokens (added special tokens): the token embedding and an
    /// untied head gain rows initialised to the mean of the existing rows (so a new token starts as an "average"
    /// token rather than noise that skews the softmax), and the config's vocab_size follows, so checkpoints written
    /// afterwards load as the grown model. Existing rows keep their values bit for bit.
    /// </summary>
    public void ResizeVocabulary(int newSize)
    {
        if (newSize < Config.VocabSize) throw new InvalidInputException($"vocabulary: cannot shrink from {Config.VocabSize} to {newSize} tokens (existing ids would lose their rows)");
        if (newSize == Config.VocabSize) return;
        // A parameter-efficient method (which freezes the base) was built for the old shapes, and its base hash for
        // the old weights: grow first, then apply it.
        if (parameters().Any(p => !p.requires_grad))
            throw new InvalidOperationException("grow the vocabulary before applying a parameter-efficient method (or freezing weights), not after");
        using (no_grad())
        {
            Grow(wte.weight!, newSize);
            if (lm_head is not null) Grow(lm_head.weight!, newSize);
        }
        ReplaceConfig(Config with { VocabSize = newSize });
    }

    static void Grow(Parameter weight, int rows)
    {
        long added = rows - weight.shape[0];
        Tensor mean = weight.mean(new long[] { 0 }, keepdim: true);
        // set_ re-points the parameter itself, so every holder of it (the module, an optimizer built later) sees it.
        weight.set_(cat(new Tensor[] { weight.detach(), mean.expand(added, -1) }, 0).contiguous());
    }

    /// <summary>An empty <see cref="KvCache"/> for <paramref name="batch"/> sequences, in the dtype of the model's weights.</summary>
    public override DecodingState NewDecodingState(long batch, Device device) =>
        new KvCache(Config, batch, device, parameters().First().dtype);

    /// <summary>Runs <paramref name="tokens"/> through the model, extending the <see cref="KvCache"/> <paramref name="state"/>; logits [B, n, V].</summary>
    public override Tensor Decode(Tensor tokens, DecodingState state) => Forward(tokens, (KvCache)state);

    /// <summary>
    /// Why this model cannot decode through a <see cref="SlotKvCache"/>, or null when it can: token shift carries
    /// per-sequence embeddings, ALiBi and T5 biases are built for one start position, and prompt tuning puts its soft
    /// prompt in front of a fresh sequence only.
    /// </summary>
    public string? SlotDecodingRefusal =>
        token_shift is not null ? "token shift keeps per-sequence embeddings"
        : Config.PositionEncoding is "alibi" or "t5" ? $"{Config.PositionEncoding} position biases are built for one start position"
        : inputPrefix is not null ? "prompt tuning's soft prompt"
        : null;

    /// <summary>
    /// One pass of batched decoding: <paramref name="tokens"/> [B, T] are the next T tokens of the sequences in
    /// <paramref name="slots"/> (one row each), which continue from their own lengths in <paramref name="cache"/> and
    /// are stored there. Returns the logits [B, V] that follow each row's last token: the output head runs on those
    /// positions only, so a long prefill chunk does not pay for a vocabulary-wide projection per token.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model cannot decode in slots (<see cref="SlotDecodingRefusal"/>), or a slot would outgrow the context.</exception>
    public Tensor DecodeSlots(Tensor tokens, SlotKvCache cache, IReadOnlyList<int> slots)
    {
        if (SlotDecodingRefusal is { } reason) throw new InvalidOperationException($"batched decoding is not available: {reason}");
        if (tokens.shape[0] != slots.Count) throw new ArgumentException($"{tokens.shape[0]} rows of tokens for {slots.Count} slots");
        var pass = cache.Begin(slots, (int)tokens.shape[1]);
        Tensor hidden = Run(tokens, null, null, null, headless: true, rows: pass);
        cache.Advance(pass);
        return OutputLogits(hidden[.., -1]);
    }

    /// <summary>
    /// Training FLOPs per token (PaLM appendix B, as nanoGPT): 6·N for the weights (N without position
    /// embeddings) plus 12·L·T·C for attention scores and values, forward and backward.
    /// </summary>
    public override double TrainingFlopsPerToken()
    {
        long n = ParameterCount - (wpe?.weight!.numel() ?? 0);
        return 6.0 * n + 12.0 * Config.NLayer * Config.BlockSize * Config.NEmbd;
    }

    /// <summary>GPT-2 initialisation (<see cref="Initialization.Gpt2"/>): one stack of n_layer blocks.</summary>
    void InitializeWeights() => Initialization.Gpt2(this, Config, (h, Config.NLayer));
}
