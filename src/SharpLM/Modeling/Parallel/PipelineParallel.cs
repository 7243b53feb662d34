using System.Diagnostics;
using SharpLM.Distributed;
using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling.Parallel;

/// <summary>
/// One stage of a GPT split by layers across pipeline ranks (GPipe, Huang et al. 2019): the first stage holds the
/// token and position embeddings, every stage n_layer/p consecutive blocks, the last the final norm and the output
/// head. Parameters keep the whole model's state-dict names ("h.3.attn.c_attn.weight"), so a stage is loaded from,
/// and its gradients compared with, the single-process model by name. With tied embeddings the last stage holds
/// its own copy of the token embedding for the head, and the two copies' gradients are summed after backward
/// (Megatron-LM's embedding all-reduce), so both stay equal to the single-process weight.
/// </summary>
public sealed class PipelineStage : nn.Module
{
    // Field names are the GPT's, so state-dict keys match the whole model's.
    readonly Embedding? wte;
    readonly Embedding? wpe;
    readonly ModuleDict<TransformerBlock> h;
    readonly nn.Module<Tensor, Tensor>? ln_f;
    readonly Linear? lm_head;
    readonly ModelConfig config;
    readonly int[] layers;

    /// <summary>Stage <paramref name="stage"/> of <paramref name="stages"/> for <paramref name="full"/>, its weights copied from it.</summary>
    public PipelineStage(Gpt full, int stage, int stages) : base(nameof(PipelineStage))
    {
        config = full.Config;
        Stage = stage;
        Stages = stages;
        int per = config.NLayer / stages;
        layers = Enumerable.Range(stage * per, per).ToArray();
        bool tied = config.TieEmbeddings;
        if (IsFirst || (IsLast && tied)) wte = nn.Embedding(config.VocabSize, config.NEmbd);
        if (IsFirst) wpe = Embeddings.LearnedPositions(config);
        h = nn.ModuleDict(layers.Select(i => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), new TransformerBlock(config))).ToArray());
        if (IsLast)
        {
            if (config.NormPlacement != "post") ln_f = Norms.Create(config);
            if (!tied) lm_head = nn.Linear(config.NEmbd, config.VocabSize, hasBias: false);
        }
        RegisterComponents();
        var whole = full.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters()) p.copy_(whole[name]);
    }

    /// <summary>This stage's index, 0 … <see cref="Stages"/> − 1.</summary>
    public int Stage { get; }

    /// <summary>Stages the model is split into.</summary>
    public int Stages { get; }

    /// <summary>The stage with the embeddings: it reads token ids.</summary>
    public bool IsFirst => Stage == 0;

    /// <summary>The stage with the head: it computes logits and the loss.</summary>
    public bool IsLast => Stage == Stages - 1;

    /// <summary>The global indices of this stage's blocks.</summary>
    public IReadOnlyList<int> Layers => layers;

    /// <summary>The token embedding this stage holds (the first stage's, or the last's copy for the tied head); null otherwise.</summary>
    internal Embedding? TokenEmbedding => wte;

    /// <summary>Width of the activations passed between stages (n_embd).</summary>
    internal long Width => config.NEmbd;

    /// <summary>Rows of the token embedding.</summary>
    internal long VocabSize => config.VocabSize;

    /// <summary>Tied embeddings split over several stages: the first and last stage each hold a copy whose gradients must be summed.</summary>
    internal bool SharesTokenEmbedding => config.TieEmbeddings && Stages > 1;

    /// <summary>First stage: token ids [B, T] → the residual stream's input, as <see cref="Gpt"/> computes it.</summary>
    public Tensor Embed(Tensor idx) => Embeddings.AddPositions(wte!.forward(idx), wpe, config, 0, idx.shape[1]);

    /// <summary>This stage's blocks over <paramref name="x"/> [B, T, C].</summary>
    public Tensor Blocks(Tensor x)
    {
        long t = x.shape[1];
        var inputs = AttentionInputs.Create(config, 0, t, Embeddings.AttentionBias(config, null, 0, t, x.device), x.device, x.dtype);
        foreach (int i in layers) x = h[i.ToString(System.Globalization.CultureInfo.InvariantCulture)].Forward(x, null, i, inputs);
        return x;
    }

    /// <summary>Last stage: the final norm and the output head, logits [B, T, V].</summary>
    public Tensor Logits(Tensor x) => Embeddings.Logits(ln_f is null ? x : ln_f.forward(x), wte!, lm_head);
}

/// <summary>What one pipelined training step gave this stage.</summary>
/// <param name="Logits">The last stage's logits for the whole batch [B, T, V]; null on the others.</param>
/// <param name="Loss">The last stage's mean loss over the batch; null on the others.</param>
/// <param name="IdleMilliseconds">Time spent in MPI sends and receives (waiting for a neighbour, or copying to it).</param>
/// <param name="BusyMilliseconds">The rest of the step: forward and backward compute.</param>
/// <param name="MostMicroBatchesHeld">The most micro-batches whose activations this stage held at once (forward done, backward not yet).</param>
public sealed record PipelineStepResult(Tensor? Logits, Tensor? Loss, double IdleMilliseconds, double BusyMilliseconds, int MostMicroBatchesHeld);

/// <summary>
/// Pipeline parallelism over MPI (GPipe, Huang et al. 2019; 1F1B, Narayanan et al. 2021): the batch is cut into m
/// micro-batches, each stage passes activations [b, T, C] to the next and their gradients back. Stage s cannot start
/// micro-batch 0 before stages 0 … s−1 have run it, and the last stage's backward must come back through them, so
/// each stage idles for (p−1) micro-batch forwards and backwards per step: the bubble, (p−1)/m of the busy time for
/// equal stages (Narayanan et al. 2021, §2.2), whichever of the two schedules runs. One stage per rank.
/// </summary>
public sealed class PipelineParallel
{
    /// <summary>One pipeline stage per rank of <paramref name="mpi"/>.</summary>
    public PipelineParallel(Mpi mpi)
    {
        Mpi = mpi;
        Stage = mpi.Rank;
        Stages = mpi.Size;
    }

    Mpi Mpi { get; }

    /// <summary>This rank's stage.</summary>
    public int Stage { get; }

    /// <summary>Stages: one per rank.</summary>
    public int Stages { get; }

    /// <summary>
    /// Refuses a model whose layers do not split evenly into <paramref name="stages"/> stages or a batch that does not
    /// split into <paramref name="microBatches"/> micro-batches, naming the field or option; and what the stages do not
    /// carry across ranks: T5's relative-position table (shared by every layer), token shift, dropout.
    /// </summary>
    /// <exception cref="InvalidInputException">The layout is not possible.</exception>
    public static void CheckLayout(ModelConfig config, int stages, int microBatches, int batchSize)
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"pipeline parallelism over {stages} stages: {field} {problem}");
        }
        Require(config.Type == "transformer" && config.Architecture == "causal_decoder", "architecture", $"must be a causal_decoder transformer, not '{config.Type}' / '{config.Architecture}'");
        Require(config.NLayer % stages == 0, "n_layer", $"{config.NLayer} does not divide into {stages} equal stages");
        Require(microBatches >= 1, "--micro-batches", "must be at least 1");
        Require(batchSize % microBatches == 0, "--batch-size", $"{batchSize} does not divide into {microBatches} equal micro-batches");
        Require(config.PositionEncoding != "t5", "position_encoding", "'t5' shares one bias table across all layers, which the stages do not synchronise");
        Require(config.TokenShift == 0, "token_shift", "is not supported by the pipeline's first stage");
        Require(config.Dropout == 0, "dropout", "must be 0 (the check compares with the single-process model)");
    }

    /// <summary>This rank's stage of <paramref name="full"/>.</summary>
    public PipelineStage StageOf(Gpt full) => new(full, Stage, Stages);

    /// <summary>The schedules <see cref="Step"/> runs.</summary>
    public static readonly IReadOnlyList<string> Schedules = ["gpipe", "1f1b"];

    /// <summary>
    /// One training step on this rank's <paramref name="stage"/> over the whole batch <paramref name="idx"/> /
    /// <paramref name="targets"/> [B, T] (every rank passes the same batch; the first stage reads the tokens, the
    /// last the targets): gradients of the mean next-token loss accumulate in the stage's parameters.
    /// <list type="bullet">
    /// <item>"gpipe": all m forwards, then all m backwards; a stage holds the activations of all m micro-batches.</item>
    /// <item>"1f1b" (PipeDream-Flush, Narayanan et al. 2021; Megatron-LM's default): p − s − 1 forwards to fill the
    /// pipeline, then one forward and one backward in turn, then the remaining backwards. The same bubble, but a
    /// stage holds at most p − s micro-batches' activations. A stage passing an activation forward while its
    /// neighbour passes a gradient back pairs the two in one <see cref="Mpi.SendReceive"/>.</item>
    /// </list>
    /// </summary>
    /// <exception cref="InvalidInputException">The schedule is not one of <see cref="Schedules"/>.</exception>
    public PipelineStepResult Step(PipelineStage stage, Tensor idx, Tensor targets, int microBatches, string schedule = "1f1b")
    {
        if (!Schedules.Contains(schedule)) throw new InvalidInputException($"--schedule: '{schedule}' is not one of {string.Join(", ", Schedules)}");
        var clock = Stopwatch.StartNew();
        double idle = 0;
        int m = microBatches, previous = Stage - 1, next = Stage + 1, held = 0, mostHeld = 0;
        long b = idx.shape[0] / m, t = idx.shape[1], width = stage.Width;
        Tensor[] ids = idx.chunk(m, 0), labels = targets.chunk(m, 0);
        var inputs = new Tensor?[m];
        var outputs = new Tensor?[m];
        var logits = new Tensor[m];
        var losses = new Tensor[m];

        // Communication with the neighbours; time inside MPI counts as idle. Activations of micro-batch i travel
        // with tag i, their gradients with tag m + i.
        T Timed<T>(Func<T> call)
        {
            var started = clock.Elapsed;
            T result = call();
            idle += (clock.Elapsed - started).TotalMilliseconds;
            return result;
        }
        Tensor NewActivation() => empty(new[] { b, t, width }, ScalarType.Float32);
        Span<float> Data(Tensor x) => Runtime.TensorMemory.Span(x);
        Tensor? ReceiveForward(int i) => stage.IsFirst ? null : Timed(() =>
        {
            Tensor x = NewActivation();
            Mpi.Receive(Data(x), previous, i);
            return x;
        });
        void SendForward(Tensor? y, int i)
        {
            if (!stage.IsLast) Timed(() => { Mpi.Send(Data(y!.detach().contiguous()), next, i); return 0; });
        }
        Tensor? ReceiveBackward(int i) => stage.IsLast ? null : Timed(() =>
        {
            Tensor g = NewActivation();
            Mpi.Receive(Data(g), next, m + i);
            return g;
        });
        void SendBackward(int i)
        {
            if (!stage.IsFirst) Timed(() => { Mpi.Send(Data(inputs[i]!.grad!.contiguous()), previous, m + i); return 0; });
        }
        // 1F1B's paired exchanges: activation i forward with gradient j back, and gradient j back with activation i forward.
        Tensor? SendForwardReceiveBackward(Tensor? y, int i, int j) => stage.IsLast ? null : Timed(() =>
        {
            Tensor g = NewActivation();
            Mpi.SendReceive(Data(y!.detach().contiguous()), next, i, Data(g), next, m + j);
            return g;
        });
        Tensor? SendBackwardReceiveForward(int j, int i) => stage.IsFirst ? null : Timed(() =>
        {
            Tensor x = NewActivation();
            Mpi.SendReceive(Data(inputs[j]!.grad!.contiguous()), previous, m + j, Data(x), previous, i);
            return x;
        });

        // Compute: forward returns what goes to the next stage (null on the last, which computes the loss).
        Tensor? Forward(int i, Tensor? received)
        {
            Tensor x = stage.IsFirst ? stage.Embed(ids[i]) : received!.requires_grad_(true);
            inputs[i] = x;
            Tensor y = stage.Blocks(x);
            mostHeld = Math.Max(mostHeld, ++held);
            if (!stage.IsLast) return outputs[i] = y;
            Tensor z = stage.Logits(y);
            logits[i] = z.detach();
            // Each micro-batch's mean over 1/m of the rows: their sum is the batch mean.
            outputs[i] = F.cross_entropy(z.reshape(-1, z.shape[^1]), labels[i].reshape(-1), ignore_index: -1) / m;
            losses[i] = outputs[i]!.detach();
            return null;
        }
        void Backward(int j, Tensor? gradient)
        {
            if (stage.IsLast) outputs[j]!.backward();
            else outputs[j]!.backward([gradient!]);
            outputs[j] = null; // its graph is no longer needed
            held--;
        }

        if (schedule == "gpipe")
        {
            for (int i = 0; i < m; i++) SendForward(Forward(i, ReceiveForward(i)), i);
            for (int j = 0; j < m; j++)
            {
                Backward(j, ReceiveBackward(j));
                SendBackward(j);
            }
        }
        else
        {
            int warmup = Math.Min(Stages - Stage - 1, m), steady = m - warmup;
            for (int i = 0; i < warmup; i++) SendForward(Forward(i, ReceiveForward(i)), i);
            Tensor? x = steady > 0 ? ReceiveForward(warmup) : null;
            for (int j = 0; j < steady; j++)
            {
                int i = warmup + j;
                Backward(j, SendForwardReceiveBackward(Forward(i, x), i, j));
                if (j == steady - 1) SendBackward(j);
                else x = SendBackwardReceiveForward(j, i + 1);
            }
            for (int j = steady; j < m; j++)
            {
                Backward(j, ReceiveBackward(j));
                SendBackward(j);
            }
        }
        if (stage.SharesTokenEmbedding) idle += SumTiedEmbeddingGradients(stage, clock);
        return stage.IsLast
            ? new PipelineStepResult(cat(logits, 0), losses.Aggregate((a, l) => a + l), idle, clock.Elapsed.TotalMilliseconds - idle, mostHeld)
            : new PipelineStepResult(null, null, idle, clock.Elapsed.TotalMilliseconds - idle, mostHeld);
    }

    /// <summary>
    /// Tied embeddings: the first stage's lookup and the last stage's head each hold part of the token embedding's
    /// gradient; every rank joins one all-reduce (middle stages add zeros) and the two copies take the sum.
    /// </summary>
    double SumTiedEmbeddingGradients(PipelineStage stage, Stopwatch clock)
    {
        var started = clock.Elapsed;
        Tensor? weight = stage.TokenEmbedding?.weight;
        Tensor sum = weight?.grad is { } g ? g.contiguous().clone() : zeros(stage.VocabSize, stage.Width);
        Mpi.AllReduceSum(Runtime.TensorMemory.Span(sum));
        if (weight is not null)
        {
            using var _ = no_grad();
            weight.grad!.copy_(sum);
        }
        return (clock.Elapsed - started).TotalMilliseconds;
    }
}
