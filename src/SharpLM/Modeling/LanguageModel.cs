using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// What the trainer, the generator, perplexity and the evaluation harness need from a neural language model,
/// whatever its generation (RNN or Transformer) and architecture (causal decoder, prefix decoder,
/// encoder-decoder). A window of training text arrives as <c>idx</c> [B, T] with <c>targets</c> = idx shifted by
/// one token; each model turns it into its own pre-training objective (<see cref="Loss"/>) and into one
/// objective every model shares (<see cref="ContinuationLoss"/>), so architectures can be compared.
/// </summary>
public abstract class LanguageModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Names the module <paramref name="name"/> and keeps <paramref name="config"/> once it validates.</summary>
    /// <exception cref="InvalidInputException">A field of <paramref name="config"/> is invalid.</exception>
    protected LanguageModel(string name, ModelConfig config) : base(name) => Config = config.Validate();

    /// <summary>The config the model was built from (updated when it changes shape); saved with every checkpoint.</summary>
    public ModelConfig Config { get; private set; }

    /// <summary>A model that changes shape (a grown vocabulary) updates its config, so checkpoints describe it.</summary>
    protected void ReplaceConfig(ModelConfig config) => Config = config.Validate();

    /// <summary>
    /// Tokens the model can read at once: block_size, less any positions a method reserves (prompt tuning's soft
    /// prompt). Windows for training, scoring and generation must not be longer.
    /// </summary>
    public virtual int ContextLength => Config.BlockSize;

    /// <summary>The model a config describes, freshly initialised.</summary>
    public static LanguageModel Create(ModelConfig config) => config.Validate().Type switch
    {
        "transformer" => config.Architecture switch
        {
            "prefix_decoder" => new Architectures.PrefixDecoder(config),
            "encoder_decoder" => new Architectures.EncoderDecoder(config),
            _ => new Gpt(config),
        },
        "lstm" or "gru" => new Recurrent.RecurrentLanguageModel(config),
        _ => throw new InvalidInputException($"model config: type '{config.Type}' is count-based, not a neural model; 'sharplm pretrain' trains it by counting (NGramTrainer)"),
    };

    /// <summary>Total number of scalar values in the model's parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Next-token logits [B, T, V] for <paramref name="idx"/> [B, T], each position seeing only the tokens before
    /// it and itself: the left-to-right view that perplexity and likelihood scoring use.
    /// </summary>
    public abstract override Tensor forward(Tensor idx);

    /// <summary>The model's pre-training objective on one window (next-token cross-entropy unless overridden).</summary>
    public virtual Tensor Loss(Tensor idx, Tensor targets) => CrossEntropy(forward(idx), targets);

    /// <summary>
    /// Mean cross-entropy of predicting the window's tokens after its first <paramref name="prefix"/> tokens
    /// (targets[:, prefix−1 ..]) from those tokens: the same quantity for every architecture. A decoder reads the
    /// prefix and continues it; an encoder-decoder encodes the prefix and decodes the rest.
    /// </summary>
    public virtual Tensor ContinuationLoss(Tensor idx, Tensor targets, int prefix)
    {
        CheckPrefix(idx, prefix);
        Tensor logits = forward(idx);
        return CrossEntropy(logits[.., (prefix - 1)..], targets[.., (prefix - 1)..]);
    }

    /// <summary>Training FLOPs per token of the window (forward and backward), for MFU.</summary>
    public abstract double TrainingFlopsPerToken();

    /// <summary>A fresh incremental-decoding state (KV cache, recurrent state) for <paramref name="batch"/> sequences.</summary>
    public abstract DecodingState NewDecodingState(long batch, Device device);

    /// <summary>
    /// Feeds <paramref name="tokens"/> [B, n] into <paramref name="state"/> and returns logits [B, n', V] whose last
    /// row predicts the next token. The first call on a fresh state carries the prompt (a prefix decoder attends
    /// bidirectionally within it; an encoder-decoder encodes it and starts decoding); later calls carry generated
    /// tokens.
    /// </summary>
    public abstract Tensor Decode(Tensor tokens, DecodingState state);

    /// <summary>
    /// The uncached reference for <see cref="Decode"/>: logits [B, V] for the token after <paramref name="prompt"/>
    /// ++ <paramref name="generated"/>, computed from scratch. Must equal feeding the prompt, then the generated
    /// tokens, to a fresh state (an empty part is skipped).
    /// </summary>
    public virtual Tensor NextTokenLogits(Tensor prompt, Tensor generated) =>
        forward(generated.shape[1] == 0 ? prompt : prompt.shape[1] == 0 ? generated : cat(new[] { prompt, generated }, 1))[.., -1];

    /// <summary>
    /// Which tokens the model can condition on after a <paramref name="promptLength"/>-token prompt and
    /// <paramref name="generatedLength"/> generated tokens: the first kept index of each, or null when it cannot
    /// take another token. Decoders keep the last <see cref="ContextLength"/> tokens of prompt ++ generated.
    /// </summary>
    public virtual (int PromptStart, int GeneratedStart)? ContextWindow(int promptLength, int generatedLength)
    {
        int drop = Math.Max(0, promptLength + generatedLength - ContextLength);
        return (Math.Min(drop, promptLength), Math.Max(0, drop - promptLength));
    }

    /// <summary>Mean cross-entropy of logits [B, T, V] against targets [B, T]; targets of −1 are ignored.</summary>
    /// <remarks>A bf16 model's logits are scored in float32: the log-sum-exp over the vocabulary needs the precision.</remarks>
    protected static Tensor CrossEntropy(Tensor logits, Tensor targets) =>
        F.cross_entropy((logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32)).reshape(-1, logits.shape[^1]), targets.reshape(-1), ignore_index: -1);

    /// <summary>Checks that <paramref name="prefix"/> leaves at least one token of the window <paramref name="idx"/> on each side.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It does not.</exception>
    protected static void CheckPrefix(Tensor idx, int prefix)
    {
        if (prefix < 1 || prefix >= idx.shape[1])
            throw new ArgumentOutOfRangeException(nameof(prefix), $"prefix {prefix} must leave at least one token on each side of a {idx.shape[1]}-token window");
    }
}

/// <summary>What a model remembers between <see cref="LanguageModel.Decode"/> calls.</summary>
public abstract class DecodingState : IDisposable
{
    /// <summary>Tokens fed so far.</summary>
    public int Length { get; protected set; }

    /// <summary>Forgets everything (buffers may be reused).</summary>
    public virtual void Clear() => Length = 0;

    /// <summary>Frees the state's tensors.</summary>
    public abstract void Dispose();
}
