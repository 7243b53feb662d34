namespace SharpLM.Training.Planning;

/// <summary>
/// Bytes per parameter of each model state under Adam, and per activation value (ZeRO, Rajbhandari et al. 2020, §3.1).
/// Mixed precision keeps 16-bit weights and gradients (2Ψ + 2Ψ) and K = 12 bytes of optimizer state per parameter:
/// the fp32 master weights, momentum and variance (4 + 4 + 4). Plain fp32 training needs no master copy: 4Ψ weights,
/// 4Ψ gradients and K = 8 (momentum and variance).
/// </summary>
/// <param name="Name">"bf16" or "fp32", as the CLI spells it.</param>
/// <param name="ParameterBytes">Bytes of each working weight.</param>
/// <param name="GradientBytes">Bytes of each gradient; also what a data-parallel all-reduce moves per element.</param>
/// <param name="OptimizerBytes">K: bytes of optimizer state per parameter.</param>
/// <param name="ActivationBytes">Bytes of each activation value and of each element tensor parallelism all-reduces.</param>
public sealed record TrainingPrecision(string Name, int ParameterBytes, int GradientBytes, int OptimizerBytes, int ActivationBytes)
{
    /// <summary>Mixed precision (fp16 or bf16 compute, fp32 master weights): 2 + 2 + 12 = 16 bytes per parameter.</summary>
    public static readonly TrainingPrecision Mixed16 = new("bf16", 2, 2, 12, 2);
    /// <summary>Everything in fp32: 4 + 4 + 8 = 16 bytes per parameter as well, but activations and traffic double.</summary>
    public static readonly TrainingPrecision Fp32 = new("fp32", 4, 4, 8, 4);

    /// <summary>The precisions the planner knows, in the order they are listed.</summary>
    public static readonly IReadOnlyList<TrainingPrecision> All = new[] { Mixed16, Fp32 };

    /// <summary>Bytes of all model states per parameter: 2 + 2 + K.</summary>
    public int StateBytes => ParameterBytes + GradientBytes + OptimizerBytes;

    /// <summary>The precision called <paramref name="name"/> ("fp16" is read as "bf16": the same bytes).</summary>
    /// <exception cref="InvalidInputException">Unknown name; the message names <paramref name="option"/>.</exception>
    public static TrainingPrecision Parse(string name, string option = "--precision") =>
        All.FirstOrDefault(p => p.Name == (name == "fp16" ? "bf16" : name))
        ?? throw new InvalidInputException($"{option}: '{name}' is not supported (supported: {string.Join(", ", All.Select(p => p.Name))})");
}
