using System.CommandLine;
using System.Text.Json;
using SharpLM.Cli.Commands;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Training;
using SharpLM.Training.Planning;

namespace SharpLM.Tests.Training;

public class CapacityPlanTests
{
    static readonly PlanOptions Mixed = new(TrainingPrecision.Mixed16);

    static double Gigabytes(double bytes) => Math.Round(bytes / 1e9, 1, MidpointRounding.AwayFromZero);

    [Fact]
    public void Zero_stages_reproduce_figure_1_of_the_zero_paper()
    {
        // Rajbhandari et al. 2020, Figure 1: Ψ = 7.5B, N_d = 64, K = 12 → 120, 31.4, 16.6 and 1.9 GB per device.
        var plan = CapacityPlanner.Plan(PlanModel.FromParameters(7.5e9), new ParallelLayout(Devices: 64), Mixed);
        Assert.Equal(new[] { "DP", "ZeRO-1", "ZeRO-2", "ZeRO-3" }, plan.Strategies.Select(s => s.Name));
        Assert.Equal(new[] { 120.0, 31.4, 16.6, 1.9 }, plan.Strategies.Select(s => Gigabytes(s.ModelStateBytes)));
        // The figure's first row in its parts: 2Ψ weights, 2Ψ gradients, 12Ψ optimizer states.
        Assert.Equal((15e9, 15e9, 90e9), (plan.Strategies[0].ParameterBytes, plan.Strategies[0].GradientBytes, plan.Strategies[0].OptimizerBytes));
        Assert.Equal(1.875e9, plan.Strategies[3].ModelStateBytes, 1e-6);
    }

    [Fact]
    public void Fp32_training_keeps_4_4_and_8_bytes_per_parameter()
    {
        var plan = CapacityPlanner.Plan(PlanModel.FromParameters(1e9), new ParallelLayout(Devices: 8), new PlanOptions(TrainingPrecision.Fp32));
        var dp = plan.Strategies[0];
        Assert.Equal((4e9, 4e9, 8e9), (dp.ParameterBytes, dp.GradientBytes, dp.OptimizerBytes));
        Assert.Equal(4e9 + 4e9 + 8e9 / 8, plan.Strategies[1].ModelStateBytes, 1e-3);
    }

    [Fact]
    public void Tensor_and_pipeline_parallelism_divide_model_states_and_leave_fewer_data_parallel_replicas()
    {
        var model = PlanModel.FromParameters(8e9, layers: 32, hidden: 4096, heads: 32, seqLen: 2048);
        var plan = CapacityPlanner.Plan(model, new ParallelLayout(Devices: 64, TensorParallel: 8, PipelineParallel: 4, MicroBatches: 8), Mixed);
        Assert.Equal(2, plan.Layout.DataParallel);
        Assert.Equal(8e9 / 32, plan.ShardParameters);
        Assert.Equal(16 * 8e9 / 32, plan.Strategies[0].ModelStateBytes);
        Assert.Equal(16 * 8e9 / 32 / 2, plan.Strategies[3].ModelStateBytes);
    }

    [Fact]
    public void Gradient_traffic_is_a_ring_all_reduce_and_zero_3_moves_half_again_as_much()
    {
        // ZeRO §7: 2Ψ elements per device for DP, ZeRO-1 and ZeRO-2 (ring all-reduce, (N−1)/N of it), 3Ψ for ZeRO-3.
        var plan = CapacityPlanner.Plan(PlanModel.FromParameters(1e9), new ParallelLayout(Devices: 4), Mixed);
        double ring = 2 * 3.0 / 4 * 1e9 * 2;   // elements × 2 bytes
        Assert.Equal(new[] { ring, ring, ring, 1.5 * ring }, plan.Strategies.Select(s => s.GradientTrafficBytes));
        var single = CapacityPlanner.Plan(PlanModel.FromParameters(1e9), new ParallelLayout(), Mixed);
        Assert.All(single.Strategies, s => Assert.Equal(0, s.GradientTrafficBytes));
    }

    [Theory]
    [InlineData(4, 8, 0.375)]   // Narayanan et al. 2021 §2.2: (p − 1)/m
    [InlineData(8, 32, 0.21875)]
    [InlineData(1, 4, 0.0)]
    public void Pipeline_bubble_is_p_minus_one_over_m(int p, int m, double bubble)
    {
        var plan = CapacityPlanner.Plan(PlanModel.FromParameters(1e9, layers: 8), new ParallelLayout(Devices: p, PipelineParallel: p, MicroBatches: m), Mixed);
        Assert.Equal(bubble, plan.Pipeline.BubbleFraction, 12);
    }

    [Fact]
    public void One_f_one_b_holds_p_micro_batches_of_activations_where_gpipe_holds_m()
    {
        var model = PlanModel.FromParameters(1e9, layers: 8, hidden: 1024, heads: 16, seqLen: 1024);
        var layout = new ParallelLayout(Devices: 4, PipelineParallel: 4, MicroBatches: 16);
        var oneF = CapacityPlanner.Plan(model, layout, Mixed).Activations!;
        var gpipe = CapacityPlanner.Plan(model, layout, Mixed with { Schedule = "gpipe" }).Activations!;
        Assert.Equal((4, 16), (oneF.InFlightMicroBatches, gpipe.InFlightMicroBatches));
        Assert.Equal(4 * gpipe.PerDeviceBytes, 16 * oneF.PerDeviceBytes, 1e-3);
        Assert.Equal(2 * 4 * oneF.PerLayerBytes, oneF.PerDeviceBytes, 1e-3);   // 8/4 = 2 layers per stage × 4 in flight
    }

    [Fact]
    public void Activation_memory_follows_korthikanti_equations_1_and_2()
    {
        // GPT-3 175B's shape (Korthikanti et al. Table 3): s = 2048, h = 12288, a = 96, b = 1.
        var model = PlanModel.FromParameters(175e9, layers: 96, hidden: 12288, heads: 96, seqLen: 2048);
        double sbh = 2048.0 * 12288;
        var plain = CapacityPlanner.Plan(model, new ParallelLayout(), Mixed).Activations!;
        Assert.Equal(sbh * (34 + 5.0 * 96 * 2048 / 12288), plain.PerLayerBytes, 1e-3);
        Assert.Equal(2 * sbh, plain.PerLayerRecomputedBytes);
        var tp8 = CapacityPlanner.Plan(model, new ParallelLayout(Devices: 8, TensorParallel: 8), Mixed).Activations!;
        Assert.Equal(sbh * (10 + 24.0 / 8 + 5.0 * 96 * 2048 / (12288 * 8)), tp8.PerLayerBytes, 1e-3);
        var recompute = CapacityPlanner.Plan(model, new ParallelLayout(), Mixed with { Recompute = true }).Activations!;
        Assert.Equal(96 * 2 * sbh, recompute.PerDeviceBytes);
    }

    [Fact]
    public void Tensor_parallelism_all_reduces_twice_forward_and_twice_backward_per_layer()
    {
        var model = PlanModel.FromParameters(1e9, layers: 4, hidden: 512, heads: 8, seqLen: 128);
        var tp = CapacityPlanner.Plan(model, new ParallelLayout(Devices: 2, TensorParallel: 2, MicroBatchSize: 3, MicroBatches: 5), Mixed).TensorParallel!;
        Assert.Equal(4L * 4 * 5, tp.AllReducesPerStep);
        Assert.Equal(3.0 * 128 * 512 * 2, tp.AllReduceBytes);
        Assert.Equal(80 * 2 * 0.5 * tp.AllReduceBytes, tp.BytesPerDevicePerStep);
    }

    [Fact]
    public void Chinchilla_optimum_matches_the_fitted_law()
    {
        // Reference values computed independently with python3 from Hoffmann et al. 2022 eq. 4 (E=1.69, A=406.4,
        // B=410.7, α=0.34, β=0.28): G = (αA/(βB))^(1/(α+β)), N = G·(C/6)^(β/(α+β)), D = (C/6)^(α/(α+β))/G; a brute-force
        // minimisation of L(N, C/(6N)) over a 10^(1/20000) grid of N agreed to 5e-5 relative.
        var plan = CapacityPlanner.Plan(PlanModel.FromParameters(70e9), new ParallelLayout(), Mixed with { FlopsBudget = 5.76e23 }).Chinchilla!;
        Assert.Equal(32189859151.368168, plan.OptimalParameters, 32189859151.368168 * 1e-9);
        Assert.Equal(2982305686662.796, plan.OptimalTokens, 2982305686662.796 * 1e-9);
        Assert.Equal(1.930748101731648, plan.OptimalLoss, 1e-9);
        // The 20-tokens rule: N = √(C/120) = 69.3B, D = 1.39T (Chinchilla itself: 70B on 1.4T).
        Assert.Equal(69282032302.7551, plan.RuleParameters, 1);
        Assert.Equal(1385640646055.102, plan.RuleTokens, 10);
        Assert.Equal(5.76e23 / (6 * 70e9), plan.ModelTokens, 1);
        // The optimum is a minimum: the 70B model under the same budget has a higher predicted loss.
        Assert.True(plan.ModelLoss > plan.OptimalLoss);
        Assert.Equal(1824217696.8955524, Chinchilla.Optimum(1e21).Parameters, 1e-3);
    }

    [Theory]
    [InlineData("shakespeare-char")]
    [InlineData("gpt2-style")]
    [InlineData("llama-style")]
    [InlineData("chat-base")]
    [InlineData("gpt-6l-384d")]
    public void Flops_per_token_match_the_models_own_count(string preset)
    {
        var config = PretrainConfig.Preset(preset).Model;
        using var model = LanguageModel.Create(config);
        var planned = PlanModel.FromConfig(config);
        Assert.Equal(model.ParameterCount, planned.Parameters);
        Assert.Equal(model.TrainingFlopsPerToken(), planned.FlopsPerToken);
    }

    [Theory]
    [InlineData("sandwich", "rmsnorm", "t5", "geglu", false, true)]
    [InlineData("post", "layernorm", "alibi", "relu", true, false)]
    [InlineData("pre", "layernorm", "sinusoidal", "swiglu", false, false)]
    public void Parameters_counted_from_the_config_equal_the_built_models(string placement, string norm, string positions, string activation, bool bias, bool qkvBias)
    {
        var config = new ModelConfig
        {
            NormPlacement = placement, Norm = norm, PositionEncoding = positions, Activation = activation, Bias = bias, QkvBias = qkvBias,
            NHead = 4, NKvHead = 2, TokenShift = 2, TieEmbeddings = false, VocabSize = 97, MlpHidden = 200,
        };
        using var model = LanguageModel.Create(config);
        Assert.Equal(model.ParameterCount, PlanModel.CountParameters(config));
    }

    [Fact]
    public void Device_memory_marks_which_strategies_fit()
    {
        var plan = CapacityPlanner.Plan(PlanModel.FromParameters(7.5e9), new ParallelLayout(Devices: 64), Mixed with { DeviceMemoryBytes = 32e9 });
        Assert.Equal(new bool?[] { false, true, true, true }, plan.Strategies.Select(s => s.Fits));
    }

    [Fact]
    public void Plan_serialises_to_snake_case_json()
    {
        var plan = CapacityPlanner.Plan(PlanModel.FromParameters(7.5e9), new ParallelLayout(Devices: 64), Mixed with { FlopsBudget = 1e21 });
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(plan, Json.Options));
        Assert.Equal(120e9, json.RootElement.GetProperty("strategies")[0].GetProperty("model_state_bytes").GetDouble());
        Assert.Equal(64, json.RootElement.GetProperty("layout").GetProperty("data_parallel").GetInt32());
        Assert.True(json.RootElement.GetProperty("chinchilla").GetProperty("optimal_parameters").GetDouble() > 1e9);
    }

    [Theory]
    [InlineData(0, 1, 1, 1, "--devices")]
    [InlineData(9, 3, 1, 1, "--tp")]       // 3 does not divide 32 heads
    [InlineData(6, 6, 1, 1, "--tp")]       // 6 devices divide, 32 heads do not
    [InlineData(3, 1, 3, 1, "--pp")]       // 3 does not divide 32 layers
    [InlineData(8, 1, 1, 0, "--micro-batches")]
    [InlineData(6, 4, 1, 1, "--devices")]  // 6 is not a multiple of tp × pp
    public void Bad_layouts_are_refused_naming_the_option(int devices, int tp, int pp, int microBatches, string option)
    {
        var model = PlanModel.FromParameters(8e9, layers: 32, hidden: 4096, heads: 32, seqLen: 2048);
        var e = Assert.Throws<InvalidInputException>(() => CapacityPlanner.Plan(model, new ParallelLayout(devices, tp, pp, 1, microBatches), Mixed));
        Assert.StartsWith(option + ":", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Bad_precision_parameters_and_model_types_are_refused_naming_the_field()
    {
        Assert.StartsWith("--precision:", Assert.Throws<InvalidInputException>(() => TrainingPrecision.Parse("int8")).Message);
        Assert.StartsWith("--params:", Assert.Throws<InvalidInputException>(() => PlanModel.FromParameters(-1)).Message);
        Assert.StartsWith("--flops:", Assert.Throws<InvalidInputException>(() =>
            CapacityPlanner.Plan(PlanModel.FromParameters(1e9), new ParallelLayout(), Mixed with { FlopsBudget = 0 })).Message);
        Assert.Contains("type 'lstm'", Assert.Throws<InvalidInputException>(() => PlanModel.FromConfig(new ModelConfig { Type = "lstm" })).Message);
        Assert.Contains("not found", Assert.Throws<InvalidInputException>(() => PretrainConfig.Preset("no-such-preset")).Message);
    }

    static int RunPlan(params string[] args) =>
        new RootCommand { PlanCommand.Create() }.Parse(args.Prepend("plan").ToArray()).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    [Theory]
    [InlineData("--preset nope", "--preset:")]
    [InlineData("--preset gpt2-style --tp 3 --devices 3", "--tp:")]
    [InlineData("--preset gpt2-style --pp 3 --devices 3", "--pp:")]
    [InlineData("--params 1e9 --devices 0", "--devices:")]
    [InlineData("--params 1e9 --micro-batches 0", "--micro-batches:")]
    [InlineData("--params 1e9 --schedule zigzag", "--schedule:")]
    [InlineData("--preset gpt2-style --params 1e9", "--preset, --config or --params:")]
    [InlineData("--preset gpt2-style --heads 2", "--layers, --hidden and --heads:")]
    public void Plan_command_refuses_bad_values_in_one_line_naming_the_option(string args, string prefix)
    {
        var e = Assert.Throws<InvalidInputException>(() => RunPlan(args.Split(' ')));
        Assert.StartsWith(prefix, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Plan_command_writes_the_plan_as_json()
    {
        string path = Path.Combine(Path.GetTempPath(), $"plan-{Guid.NewGuid():N}.json");
        try
        {
            Assert.Equal(0, RunPlan("--params", "7.5e9", "--devices", "64", "--json", path));
            var plan = Json.ReadFile<CapacityPlan>(path);
            Assert.Equal(new[] { 120.0, 31.4, 16.6, 1.9 }, plan.Strategies.Select(s => Gigabytes(s.ModelStateBytes)));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
