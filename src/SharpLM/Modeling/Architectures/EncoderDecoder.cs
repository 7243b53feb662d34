using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling.Architectures;

/// <summary>
/// An encoder-decoder Transformer (Vaswani et al. 2017; T5, Raffel et al. 2020): a bidirectional encoder over the
/// input and a causal decoder whose blocks also attend to the encoder output. Norms, activations, position
/// encodings, GQA and sliding windows come from <see cref="ModelConfig"/> as in <see cref="Gpt"/>; positions count
/// from 0 in each stack (RoPE, ALiBi and T5 biases act within self-attention; the encoder's T5 table is
/// bidirectional, ALiBi uses |i − j|); cross-attention has no position term. The token embedding is shared by
/// encoder, decoder and (tied) output head and has <see cref="ModelConfig.Sentinels"/> extra rows after the
/// vocabulary for the span sentinels; logits the <see cref="LanguageModel"/> API returns drop those columns.
/// <list type="bullet">
/// <item><see cref="Loss"/>: T5 span corruption of the window idx (<see cref="SpanCorruption"/>), full-width
/// cross-entropy (sentinels are targets too).</item>
/// <item><see cref="ContinuationLoss"/>: the encoder reads idx[.., ..p] + sentinel 0 — the last span of a
/// corrupted window — and the decoder, started by sentinel 0, predicts targets[.., p−1 ..].</item>
/// <item><c>forward(idx)</c>: the left-to-right view is the continuation of the first token: the encoder reads
/// idx[0] + sentinel 0, the decoder reads sentinel 0, idx[1], …, idx[T−1]; position t then sees exactly tokens
/// 0 … t and predicts token t+1, as a decoder's logits do.</item>
/// <item><see cref="Decode"/>: the first call encodes the prompt (+ sentinel 0), caches the cross-attention
/// keys/values and feeds the start token sentinel 0; later calls feed generated tokens through the decoder's
/// KV cache.</item>
/// </list>
/// </summary>
public sealed class EncoderDecoder : LanguageModel
{
    readonly Embedding wte;
    readonly Embedding? encoder_wpe, wpe;
    readonly RelativePositionBias? encoder_relative_bias, relative_bias;
    readonly Dropout? drop;
    readonly ModuleList<TransformerBlock> encoder;
    readonly nn.Module<Tensor, Tensor>? encoder_ln_f, ln_f;
    readonly ModuleList<TransformerBlock> h;
    readonly Linear? lm_head;
    readonly long vocab, sentinel0;

    /// <summary>A freshly initialised encoder-decoder as <paramref name="config"/> describes it.</summary>
    /// <exception cref="ArgumentException">The config is not of type "transformer" with architecture "encoder_decoder".</exception>
    public EncoderDecoder(ModelConfig config) : base(nameof(EncoderDecoder), config)
    {
        if (config.Type != "transformer" || config.Architecture != "encoder_decoder")
            throw new ArgumentException($"EncoderDecoder needs type 'transformer' and architecture 'encoder_decoder', not '{config.Type}' / '{config.Architecture}'");
        vocab = config.VocabSize;
        sentinel0 = config.VocabSize;
        long rows = config.VocabSize + config.Sentinels;
        wte = nn.Embedding(rows, config.NEmbd);
        encoder_wpe = Embeddings.LearnedPositions(config);
        wpe = Embeddings.LearnedPositions(config);
        if (config.PositionEncoding == "t5")
        {
            encoder_relative_bias = new RelativePositionBias(config, bidirectional: true);
            relative_bias = new RelativePositionBias(config);
        }
        if (config.Dropout > 0) drop = nn.Dropout(config.Dropout);
        encoder = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.EncoderLayers).Select(_ => new TransformerBlock(config)).ToArray());
        h = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.NLayer).Select(_ => new TransformerBlock(config, crossAttention: true)).ToArray());
        if (config.NormPlacement != "post")
        {
            encoder_ln_f = Norms.Create(config);
            ln_f = Norms.Create(config);
        }
        if (!config.TieEmbeddings) lm_head = nn.Linear(config.NEmbd, rows, hasBias: false);
        RegisterComponents();
        InitializeWeights();
    }

    /// <summary>Encoder output [B, S, C] for input ids [B, S] (vocabulary and sentinel ids), every position seeing every other.</summary>
    public Tensor Encode(Tensor input)
    {
        long s = input.shape[1];
        if (s > Config.BlockSize) throw new ArgumentException($"encoder input of {s} tokens exceeds the context length {Config.BlockSize}");
        Tensor x = Embed(input, 0, encoder_wpe);
        Tensor? bias = Embeddings.AttentionBias(Config, encoder_relative_bias, 0, s, input.device);
        var inputs = AttentionInputs.Create(Config, 0, s, bias, input.device, x.dtype, AttentionMasks.Bidirectional(s, input.device));
        for (int i = 0; i < encoder.Count; i++) x = encoder[i].Forward(x, null, i, inputs);
        return encoder_ln_f is null ? x : encoder_ln_f.forward(x);
    }

    /// <summary>Per decoder layer, the cross-attention keys and values of an encoder output.</summary>
    public (Tensor Keys, Tensor Values)[] Memory(Tensor encoded) => h.Select(block => block.CrossAttention!.KeysValues(encoded)).ToArray();

    /// <summary>
    /// Full-width logits [B, T, vocab+sentinels] of the decoder reading <paramref name="input"/> [B, T] against an
    /// encoded input; with a <paramref name="cache"/>, input holds only the new positions, which continue from its length.
    /// </summary>
    public Tensor Decoder(Tensor input, (Tensor Keys, Tensor Values)[] memory, KvCache? cache)
    {
        long t = input.shape[1];
        int start = cache?.Length ?? 0;
        if (start + t > Config.BlockSize)
            throw new ArgumentException($"decoder sequence of {start + t} tokens exceeds the context length {Config.BlockSize}");
        Tensor x = Embed(input, start, wpe);
        Tensor? bias = Embeddings.AttentionBias(Config, relative_bias, start, t, input.device);
        var inputs = AttentionInputs.Create(Config, start, t, bias, input.device, x.dtype);
        for (int i = 0; i < h.Count; i++) x = h[i].Forward(x, cache, i, inputs, memory[i]);
        cache?.Advance((int)t);
        if (ln_f is not null) x = ln_f.forward(x);
        return Embeddings.Logits(x, wte, lm_head);
    }

    /// <summary>Full-width logits [B, T_dec, vocab+sentinels] for an encoder input and a decoder input, uncached.</summary>
    public Tensor Forward(Tensor encoderInput, Tensor decoderInput) => Decoder(decoderInput, Memory(Encode(encoderInput)), null);

    /// <summary>Token embeddings plus this stack's absolute positions (<paramref name="positions"/>: its learned table, if any), then dropout.</summary>
    Tensor Embed(Tensor ids, long start, Embedding? positions)
    {
        Tensor x = Embeddings.AddPositions(wte.forward(ids), positions, Config, start, ids.shape[1]);
        return drop is null ? x : drop.forward(x);
    }

    /// <summary>The columns of the vocabulary: sentinels are never generated or scored through the API.</summary>
    Tensor Vocabulary(Tensor logits) => logits[TensorIndex.Ellipsis, ..(int)vocab];

    Tensor Sentinel0(long batch, Device device) => full(new[] { batch, 1L }, sentinel0, ScalarType.Int64, device);

    /// <summary>Left-to-right logits [B, T, V]: the encoder reads idx[0] + sentinel 0, the decoder sentinel 0, idx[1 ..].</summary>
    public override Tensor forward(Tensor idx)
    {
        long b = idx.shape[0];
        Tensor s0 = Sentinel0(b, idx.device);
        return Vocabulary(Forward(cat(new[] { idx[.., ..1], s0 }, 1), cat(new[] { s0, idx[.., 1..] }, 1)));
    }

    /// <summary>T5 span corruption of each row of the window (<paramref name="targets"/> is not needed: the window is its own target).</summary>
    public override Tensor Loss(Tensor idx, Tensor targets)
    {
        long b = idx.shape[0], t = idx.shape[1];
        if (t < 2) throw new ArgumentException("span corruption needs windows of at least 2 tokens");
        var (encoderLength, decoderLength) = SpanCorruption.Lengths((int)t, Config.NoiseDensity, Config.MeanNoiseSpanLength);
        long[] rows = idx.cpu().data<long>().ToArray();
        var enc = new long[b * encoderLength];
        var decIn = new long[b * decoderLength];
        var decOut = new long[b * decoderLength];
        for (int r = 0; r < b; r++)
        {
            var row = rows.AsSpan((int)(r * t), (int)t);
            var (e, di, dt) = SpanCorruption.Corrupt(row, SpanCorruption.NoiseMask(row, Config.NoiseDensity, Config.MeanNoiseSpanLength), sentinel0);
            e.CopyTo(enc, r * encoderLength);
            di.CopyTo(decIn, r * decoderLength);
            dt.CopyTo(decOut, r * decoderLength);
        }
        if (enc.Concat(decOut).Max() >= sentinel0 + Config.Sentinels)
            throw new ArgumentException($"a {t}-token window needs more than the model's {Config.Sentinels} sentinels");
        Tensor Ids(long[] data, long length) => tensor(data, new[] { b, length }).to(idx.device);
        Tensor logits = Forward(Ids(enc, encoderLength), Ids(decIn, decoderLength));
        return CrossEntropy(logits, Ids(decOut, decoderLength));
    }

    /// <summary>
    /// Encoder: idx[.., ..p] + sentinel 0; decoder: sentinel 0, targets[.., p−1 .. T−2]; cross-entropy over the
    /// vocabulary columns (the same softmax a decoder uses) against targets[.., p−1 ..].
    /// </summary>
    public override Tensor ContinuationLoss(Tensor idx, Tensor targets, int prefix)
    {
        CheckPrefix(idx, prefix);
        long b = idx.shape[0];
        Tensor s0 = Sentinel0(b, idx.device);
        Tensor decoderInput = cat(new[] { s0, targets[.., (prefix - 1)..^1].clamp_min(0) }, 1);
        Tensor logits = Forward(cat(new[] { idx[.., ..prefix], s0 }, 1), decoderInput);
        return CrossEntropy(Vocabulary(logits), targets[.., (prefix - 1)..]);
    }

    /// <summary>An empty <see cref="EncoderDecoderState"/> for <paramref name="batch"/> sequences, in the dtype of the model's weights.</summary>
    public override DecodingState NewDecodingState(long batch, Device device) =>
        new EncoderDecoderState(Config, batch, device, parameters().First().dtype);

    /// <summary>
    /// On a fresh state, encodes <paramref name="tokens"/> (the prompt) and returns the logits after the start token
    /// sentinel 0; afterwards, feeds generated tokens to the decoder. Logits cover the vocabulary only, not the sentinels.
    /// </summary>
    public override Tensor Decode(Tensor tokens, DecodingState state)
    {
        var s = (EncoderDecoderState)state;
        if (s.Memory is null)
        {
            s.Encoded(Memory(Encode(cat(new[] { tokens, Sentinel0(tokens.shape[0], tokens.device) }, 1))), (int)tokens.shape[1]);
            return Vocabulary(Decoder(Sentinel0(tokens.shape[0], tokens.device), s.Memory!, s.SelfAttention));
        }
        s.Fed((int)tokens.shape[1]);
        return Vocabulary(Decoder(tokens, s.Memory, s.SelfAttention));
    }

    /// <summary>Encode the prompt (or, with no prompt, the generated part, as Decode would) and decode sentinel 0 ++ generated.</summary>
    public override Tensor NextTokenLogits(Tensor prompt, Tensor generated)
    {
        if (prompt.shape[1] == 0) (prompt, generated) = (generated, prompt);
        Tensor s0 = Sentinel0(prompt.shape[0], prompt.device);
        return Vocabulary(Forward(cat(new[] { prompt, s0 }, 1), cat(new[] { s0, generated }, 1)))[.., -1];
    }

    /// <summary>
    /// The encoder keeps the last block_size−1 prompt tokens (sentinel 0 takes the last position); the decoder holds
    /// sentinel 0 and the generated tokens, so it is full — and generation stops — after block_size−1 of them.
    /// </summary>
    public override (int PromptStart, int GeneratedStart)? ContextWindow(int promptLength, int generatedLength) =>
        generatedLength + 1 > Config.BlockSize ? null : (Math.Max(0, promptLength - (Config.BlockSize - 1)), 0);

    /// <summary>
    /// Training FLOPs per window token, the PaLM / nanoGPT count applied to each stack for a block_size window
    /// under span corruption: encoder weights (6·N_enc) act on the encoder input's L_e positions, decoder weights
    /// and the output head (6·N_dec) on the decoder's L_d; attention adds 12·C per layer per query–key pair
    /// (encoder L_e·L_e, decoder self L_d·L_d, cross L_d·L_e). Divided by the window length.
    /// </summary>
    public override double TrainingFlopsPerToken()
    {
        int t = Config.BlockSize;
        var (le, ld) = SpanCorruption.Lengths(t, Config.NoiseDensity, Config.MeanNoiseSpanLength);
        long encoderWeights = encoder.parameters().Sum(p => p.numel()) + (encoder_ln_f?.parameters().Sum(p => p.numel()) ?? 0);
        long decoderWeights = ParameterCount - encoderWeights - (encoder_wpe?.weight!.numel() ?? 0) - (wpe?.weight!.numel() ?? 0);
        double weights = 6.0 * ((double)encoderWeights * le + (double)decoderWeights * ld);
        double attention = 12.0 * Config.NEmbd * ((double)Config.EncoderLayers * le * le + (double)Config.NLayer * (ld * ld + ld * le));
        return (weights + attention) / t;
    }

    /// <summary>
    /// GPT-2 initialisation (<see cref="Initialization.Gpt2"/>) per stack: residual-writing projections (self- and
    /// cross-attention outputs, feed-forward outputs) at init_std/√(2·layers of that stack), or DeepNorm's β.
    /// </summary>
    void InitializeWeights() => Initialization.Gpt2(this, Config, (encoder, Config.EncoderLayers), (h, Config.NLayer));
}
