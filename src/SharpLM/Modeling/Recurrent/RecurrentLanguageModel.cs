using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling.Recurrent;

/// <summary>
/// The survey's neural language model generation: token embedding → a stack of LSTM (Hochreiter &amp; Schmidhuber
/// 1997) or GRU (Cho et al. 2014) layers → logits, as in Mikolov's RNNLM and Zaremba et al.'s LSTM LM. A hidden
/// state of n_embd units carries the whole history, so there is no context limit in principle; block_size only
/// sets the training window. With <see cref="ModelConfig.Tbptt"/> the gradient is truncated (truncated
/// back-propagation through time): the window is processed in chunks whose hidden state flows forward but whose
/// gradient stops at the chunk boundary.
/// </summary>
public sealed class RecurrentLanguageModel : LanguageModel
{
    readonly Embedding wte;
    readonly nn.Module rnn;
    readonly Dropout? drop;
    readonly Linear? lm_head;
    readonly bool lstm;

    /// <summary>A freshly initialised LSTM or GRU model as <paramref name="config"/> describes it (type "lstm" or "gru").</summary>
    public RecurrentLanguageModel(ModelConfig config) : base(nameof(RecurrentLanguageModel), config)
    {
        lstm = config.Type == "lstm";
        wte = nn.Embedding(config.VocabSize, config.NEmbd);
        // Dropout between stacked layers is the RNN's own; embeddings and outputs get the same rate (Zaremba et al.).
        rnn = lstm
            ? nn.LSTM(config.NEmbd, config.NEmbd, numLayers: config.NLayer, bias: config.Bias, batchFirst: true, dropout: config.Dropout)
            : nn.GRU(config.NEmbd, config.NEmbd, numLayers: config.NLayer, bias: config.Bias, batchFirst: true, dropout: config.Dropout);
        if (config.Dropout > 0) drop = nn.Dropout(config.Dropout);
        if (!config.TieEmbeddings) lm_head = nn.Linear(config.NEmbd, config.VocabSize, hasBias: config.Bias);
        RegisterComponents();
        using var _ = no_grad();
        // The word_language_model initialisation: small uniform embeddings (a tied N(0, 1) table would start with
        // huge logits); the recurrent weights keep PyTorch's U(−1/√H, 1/√H).
        nn.init.uniform_(wte.weight!, -0.1, 0.1);
        if (lm_head is not null)
        {
            nn.init.uniform_(lm_head.weight!, -0.1, 0.1);
            if (lm_head.bias is not null) nn.init.zeros_(lm_head.bias);
        }
    }

    /// <summary>Logits [B, T, V] for token ids <paramref name="idx"/> [B, T], starting from a zero hidden state.</summary>
    public override Tensor forward(Tensor idx) => Run(idx, null).Logits;

    /// <summary>
    /// Next-token loss; with tbptt > 0 in training the window runs in chunks of tbptt tokens, the hidden state
    /// detached between them, so no gradient flows further back than one chunk.
    /// </summary>
    public override Tensor Loss(Tensor idx, Tensor targets)
    {
        int chunk = Config.Tbptt;
        long t = idx.shape[1];
        if (!training || chunk == 0 || chunk >= t) return CrossEntropy(forward(idx), targets);
        Hidden? hidden = null;
        Tensor total = zeros(1, device: idx.device);
        for (long start = 0; start < t; start += chunk)
        {
            long len = Math.Min(chunk, t - start);
            var (logits, next) = Run(idx.narrow(1, start, len), hidden?.Detach());
            total = total + CrossEntropy(logits, targets.narrow(1, start, len)) * len;
            hidden = next;
        }
        return total.squeeze() / t;
    }

    /// <summary>6·N over the weights every token passes through: the recurrent stack and the output matrix.</summary>
    public override double TrainingFlopsPerToken() =>
        6.0 * (ParameterCount - (lm_head is null ? 0 : wte.weight!.numel()));

    /// <summary>An empty state: the hidden state starts at zeros on the first <see cref="Decode"/> call, whatever the batch.</summary>
    public override DecodingState NewDecodingState(long batch, Device device) => new RecurrentState();

    /// <summary>Continues from the state's hidden state over <paramref name="tokens"/> [B, n] and stores the new one; logits [B, n, V].</summary>
    public override Tensor Decode(Tensor tokens, DecodingState state)
    {
        var recurrent = (RecurrentState)state;
        var (logits, hidden) = Run(tokens, recurrent.Hidden);
        recurrent.Advance(hidden, (int)tokens.shape[1]);
        return logits;
    }

    (Tensor Logits, Hidden Hidden) Run(Tensor idx, Hidden? hidden)
    {
        Tensor x = wte.forward(idx);
        if (drop is not null) x = drop.forward(x);
        Tensor y;
        Hidden next;
        if (lstm)
        {
            var (output, h, c) = ((LSTM)rnn).forward(x, hidden is null ? null : (hidden.H, hidden.C!));
            (y, next) = (output, new Hidden(h, c));
        }
        else
        {
            var (output, h) = ((GRU)rnn).forward(x, hidden?.H);
            (y, next) = (output, new Hidden(h, null));
        }
        if (drop is not null) y = drop.forward(y);
        return (lm_head is null ? F.linear(y, wte.weight!) : lm_head.forward(y), next);
    }

    /// <summary>h (and an LSTM's cell c), each [n_layer, B, n_embd].</summary>
    internal sealed record Hidden(Tensor H, Tensor? C)
    {
        public Hidden Detach() => new(H.detach(), C?.detach());
    }

    /// <summary>The hidden state after the tokens fed so far; it outlives each step's dispose scope.</summary>
    sealed class RecurrentState : DecodingState
    {
        public Hidden? Hidden { get; private set; }

        public void Advance(Hidden next, int tokens)
        {
            var old = Hidden;
            Hidden = new Hidden(next.H.detach().DetachFromDisposeScope(), next.C?.detach().DetachFromDisposeScope());
            Release(old);
            Length += tokens;
        }

        public override void Clear()
        {
            Release(Hidden);
            Hidden = null;
            base.Clear();
        }

        public override void Dispose() => Clear();

        static void Release(Hidden? h)
        {
            h?.H.Dispose();
            h?.C?.Dispose();
        }
    }
}
