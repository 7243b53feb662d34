using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// GPT: a causal Transformer decoder. Token embeddings (plus learned or sinusoidal position embeddings) → n_layer
/// blocks → final norm (none after post-norm blocks, whose output is already normalised) → logits over the
/// vocabulary (tied to the token embedding by default). Read top to bottom like nanoGPT. RoPE, ALiBi and T5
/// encode positions inside attention instead (<see cref="AttentionInputs"/>).
/// </summary>
public class Gpt : LanguageModel
{
    readonly Embedding wte;
    readonly Embedding? wpe;
    readonly RelativePositionBias? relative_bias;
    readonly Dropout? drop;
    readonly ModuleList<TransformerBlock> h;
    readonly nn.Module<Tensor, Tensor>? ln_f;
    readonly Linear? lm_head;

    public Gpt(ModelConfig config) : base(nameof(Gpt), config)
    {
        if (config.Type != "transformer") throw new ArgumentException($"Gpt is a Transformer; model type '{config.Type}' is built by LanguageModel.Create");
        wte = nn.Embedding(config.VocabSize, config.NEmbd);
        if (config.PositionEncoding == "learned") wpe = nn.Embedding(config.BlockSize, config.NEmbd);
        if (config.PositionEncoding == "t5") relative_bias = new RelativePositionBias(config);
        if (config.Dropout > 0) drop = nn.Dropout(config.Dropout);
        h = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.NLayer).Select(_ => new TransformerBlock(config)).ToArray());
        if (config.NormPlacement != "post") ln_f = Norms.Create(config);
        // Tied weights are not a second module: a shared Parameter would be listed twice and updated twice.
        if (!config.TieEmbeddings) lm_head = nn.Linear(config.NEmbd, config.VocabSize, hasBias: false);
        RegisterComponents();
        InitializeWeights();
    }

    /// <summary>Logits [B, T, V] for token ids <paramref name="idx"/> [B, T].</summary>
    public override Tensor forward(Tensor idx) => Forward(idx, null);

    /// <summary>
    /// With a <paramref name="cache"/>, <paramref name="idx"/> holds only the new tokens; their positions continue
    /// from <see cref="KvCache.Length"/>, and the cache is extended.
    /// </summary>
    public Tensor Forward(Tensor idx, KvCache? cache) => Forward(idx, cache, null);

    /// <summary>
    /// As <see cref="Forward(Tensor, KvCache?)"/>, with <paramref name="visible"/> (boolean, [T, start+T] or
    /// [B, 1, T, start+T]) replacing the causal mask: how a prefix decoder lets its prefix attend bidirectionally.
    /// </summary>
    protected Tensor Forward(Tensor idx, KvCache? cache, Tensor? visible)
    {
        long t = idx.shape[1];
        int start = cache?.Length ?? 0;
        if (start + t > Config.BlockSize)
            throw new ArgumentException($"sequence of {start + t} tokens exceeds the context length {Config.BlockSize}");

        Tensor x = wte.forward(idx);
        if (wpe is not null) x = x + wpe.forward(arange(start, start + t, dtype: ScalarType.Int64, device: idx.device));
        // Scaled to the token embeddings' init_std: the paper multiplies its token embeddings by √d_model so both
        // enter at the same scale; at full size the fixed table would drown GPT-2's N(0, 0.02) token embeddings.
        else if (Config.PositionEncoding == "sinusoidal")
            x = x + (SinusoidalPositions.Table(start, t, Config.NEmbd, idx.device) * Config.InitStd).to(x.dtype);
        if (drop is not null) x = drop.forward(x);

        Tensor? bias = Config.PositionEncoding switch
        {
            "alibi" => AlibiBias.Bias(Config.NHead, start, t, idx.device),
            "t5" => relative_bias!.Bias(start, t, idx.device),
            _ => null,
        };
        var inputs = AttentionInputs.Create(Config, start, t, bias, idx.device, x.dtype, visible);
        for (int i = 0; i < h.Count; i++) x = h[i].Forward(x, cache, i, inputs);
        cache?.Advance((int)t);
        if (ln_f is not null) x = ln_f.forward(x);
        return lm_head is null ? F.linear(x, wte.weight!) : lm_head.forward(x);
    }

    public override DecodingState NewDecodingState(long batch, Device device) =>
        new KvCache(Config, batch, device, parameters().First().dtype);

    public override Tensor Decode(Tensor tokens, DecodingState state) => Forward(tokens, (KvCache)state);

    /// <summary>
    /// Training FLOPs per token (PaLM appendix B, as nanoGPT): 6·N for the weights (N without position
    /// embeddings) plus 12·L·T·C for attention scores and values, forward and backward.
    /// </summary>
    public override double TrainingFlopsPerToken()
    {
        long n = ParameterCount - (wpe?.weight!.numel() ?? 0);
        return 6.0 * n + 12.0 * Config.NLayer * Config.BlockSize * Config.NEmbd;
    }

    /// <summary>
    /// GPT-2 initialisation: Linear and Embedding weights ~ N(0, 0.02), biases 0, norms at (1, 0); projections
    /// that write into the residual stream use std 0.02/√(2·n_layer) so its variance does not grow with depth.
    /// DeepNorm replaces that scaling: the value, output and feed-forward weights are multiplied by β = (8N)^(−1/4)
    /// (Wang et al. 2022), here applied to the same N(0, init_std) initialisation.
    /// </summary>
    void InitializeWeights()
    {
        using var _ = no_grad();
        double std = Config.InitStd;
        foreach (var (_, module) in named_modules())
        {
            if (module is Linear linear)
            {
                nn.init.normal_(linear.weight!, 0, std);
                if (linear.bias is not null) nn.init.zeros_(linear.bias);
            }
            else if (module is Embedding embedding)
            {
                nn.init.normal_(embedding.weight!, 0, std);
            }
        }
        if (Config.Norm == "deepnorm")
        {
            double beta = Norms.DeepNormConstants(Config.NLayer).Beta;
            foreach (var block in h)
            {
                block.Attention.ValueWeight.mul_(beta);
                block.Attention.OutputProjection.weight!.mul_(beta);
                foreach (var linear in block.FeedForward.modules().OfType<Linear>()) linear.weight!.mul_(beta);
            }
            return;
        }
        double residualStd = std / Math.Sqrt(2.0 * Config.NLayer);
        foreach (var block in h)
        {
            nn.init.normal_(block.Attention.OutputProjection.weight!, 0, residualStd);
            nn.init.normal_(block.FeedForward.OutputProjection.weight!, 0, residualStd);
        }
    }
}
