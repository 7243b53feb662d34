using System.Globalization;
using SharpLM.Distributed;
using SharpLM.Modeling.Parallel;
using SharpLM.Modeling;
using static TorchSharp.torch;

namespace SharpLM.Tests.Distributed;

/// <summary>
/// Tensor and pipeline parallelism against the single-process model, through `sharplm mpi parallel` under mpirun:
/// logits, loss and every parameter's gradient must agree to 1e-5 (max abs difference). Dropping Megatron's
/// backward all-reduce (f) was tried by hand: gradients then differ by 5.8e-2 and the command exits 1.
/// </summary>
public class ParallelismTests
{
    // A tiny GPT from the shakespeare-char preset (dropout 0): 2 layers, 32 wide, 16 tokens per row.
    static readonly string[] Tiny = ["--n-layer", "2", "--n-embd", "32", "--n-head", "2", "--sequence-length", "16"];

    /// <summary>The max abs differences the report gives for logits, loss and gradients.</summary>
    static double[] Differences(string output) =>
        output.Split('\n')
            .Where(l => l.StartsWith("| logits |", StringComparison.Ordinal) || l.StartsWith("| loss |", StringComparison.Ordinal) || l.StartsWith("| gradients", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split('|')[2].Trim(), CultureInfo.InvariantCulture)).ToArray();

    static void AssertMatches(int exit, string output)
    {
        Assert.True(exit == 0, output);
        double[] diffs = Differences(output);
        Assert.True(diffs.Length == 3, output);
        Assert.All(diffs, d => Assert.InRange(d, 0, 1e-5));
        Assert.Contains("match: logits, loss and every gradient within 1e-5", output);
    }

    [OpenMpiFact]
    public void Tensor_parallel_over_two_ranks_gives_the_single_process_logits_loss_and_gradients()
    {
        var (exit, output) = OpenMpi.RunCli(2, ["mpi", "parallel", "--mode", "tensor", "--batch-size", "4", .. Tiny]);
        AssertMatches(exit, output);
        Assert.Contains("Tensor (Megatron-LM) parallel over 2 ranks", output);
        // Grouped-query attention and a gated feed-forward split the same way (llama-style: 4 heads, 2 KV heads, SwiGLU, RoPE).
        (exit, output) = OpenMpi.RunCli(2, ["mpi", "parallel", "--mode", "tensor", "--preset", "llama-style", "--batch-size", "4", "--n-layer", "2", "--n-embd", "32", "--sequence-length", "16"]);
        AssertMatches(exit, output);
    }

    [OpenMpiFact]
    public void Pipeline_parallel_over_two_stages_and_four_micro_batches_gives_the_single_process_logits_loss_and_gradients()
    {
        // 1F1B (the default), 64 wide: each activation message is 8 KB, above OpenMPI's shared-memory eager limit, so
        // a stage that sent before receiving while its neighbour did the same would deadlock instead of passing.
        var (exit, output) = OpenMpi.RunCli(2, ["mpi", "parallel", "--mode", "pipeline", "--micro-batches", "4", "--batch-size", "8",
            "--n-layer", "2", "--n-embd", "64", "--n-head", "2", "--sequence-length", "16"]);
        AssertMatches(exit, output);
        Assert.Contains("Pipeline (1F1B) parallel over 2 ranks", output);
        Assert.Contains("4 micro-batches of 2", output);
        Assert.Contains("theory (p−1)/m = 0.250", output);
        // 1F1B holds at most p − s micro-batches' activations: 2 on the first stage, 1 on the last.
        Assert.Equal(["2", "1"], MostHeld(output));
        // GPipe with untied embeddings (the head is the last stage's own): all 4 held on both stages.
        (exit, output) = OpenMpi.RunCli(2, ["mpi", "parallel", "--mode", "pipeline", "--schedule", "gpipe", "--preset", "llama-style", "--micro-batches", "4", "--batch-size", "4", "--n-layer", "2", "--n-embd", "32", "--sequence-length", "16"]);
        AssertMatches(exit, output);
        Assert.Contains("Pipeline (GPipe) parallel over 2 ranks", output);
        Assert.Equal(["4", "4"], MostHeld(output));
    }

    /// <summary>The last column of the per-stage rows: the most micro-batches each stage held.</summary>
    static string[] MostHeld(string output) =>
        output.Split('\n').Where(l => l.Length > 3 && l.StartsWith("| ", StringComparison.Ordinal) && char.IsDigit(l[2]))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries)[^2]).ToArray();

    [OpenMpiFact]
    public void Layouts_that_do_not_split_over_the_ranks_are_refused_naming_the_field()
    {
        var (exit, output) = OpenMpi.RunCli(2, ["mpi", "parallel", "--mode", "tensor", "--n-head", "3", "--n-embd", "48"]);
        Assert.NotEqual(0, exit);
        Assert.Contains("tensor parallelism over 2 ranks: n_head 3 does not divide into 2 equal shares of heads", output);
        (exit, output) = OpenMpi.RunCli(2, ["mpi", "parallel", "--mode", "pipeline", "--n-layer", "3"]);
        Assert.NotEqual(0, exit);
        Assert.Contains("pipeline parallelism over 2 stages: n_layer 3 does not divide into 2 equal stages", output);
    }

    [Fact]
    public void Tensor_parallel_layout_errors_name_the_config_field()
    {
        var tiny = TinyRuns.Model() with { NHead = 4, NEmbd = 32 };
        string Refusal(ModelConfig config, int ranks) => Assert.Throws<InvalidInputException>(() => TensorParallel.CheckLayout(config, ranks)).Message;
        Assert.Contains("n_head 4 does not divide into 3", Refusal(tiny, 3));
        Assert.Contains("n_kv_head 1 key/value heads", Refusal(tiny with { NKvHead = 1 }, 2));
        Assert.Contains("mlp_hidden gives a feed-forward width of 25", Refusal(tiny with { MlpHidden = 25 }, 2));
        Assert.Contains("position_encoding 'alibi'", Refusal(tiny with { PositionEncoding = "alibi" }, 2));
        Assert.Contains("dropout must be 0", Refusal(tiny with { Dropout = 0.1 }, 2));
        TensorParallel.CheckLayout(tiny, 4); // 4 heads, 4·32 = 128 units: splits
    }

    [Fact]
    public void Pipeline_layout_errors_name_the_field_or_option()
    {
        var tiny = TinyRuns.Model() with { NLayer = 4 };
        string Refusal(ModelConfig config, int stages, int micro, int batch) =>
            Assert.Throws<InvalidInputException>(() => PipelineParallel.CheckLayout(config, stages, micro, batch)).Message;
        Assert.Contains("n_layer 4 does not divide into 3 equal stages", Refusal(tiny, 3, 4, 8));
        Assert.Contains("--batch-size 6 does not divide into 4 equal micro-batches", Refusal(tiny, 2, 4, 6));
        Assert.Contains("position_encoding 't5'", Refusal(tiny with { PositionEncoding = "t5" }, 2, 4, 8));
        PipelineParallel.CheckLayout(tiny, 4, 4, 8);
    }

    [Fact]
    public void Tensor_memory_is_the_tensors_own_storage_not_a_copy()
    {
        Tensor t = zeros(6);
        SharpLM.Runtime.TensorMemory.Span(t)[3] = 7;
        Assert.Equal(7f, t[3].item<float>());
        Assert.Throws<ArgumentException>(() => SharpLM.Runtime.TensorMemory.Span(zeros(2, 3).t()));
        Assert.Throws<ArgumentException>(() => SharpLM.Runtime.TensorMemory.Span(zeros(6, dtype: ScalarType.Float64)));
    }
}
