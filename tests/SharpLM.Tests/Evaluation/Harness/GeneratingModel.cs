using SharpLM.Evaluation.Harness;

namespace SharpLM.Tests.Evaluation.Harness;

/// <summary>A generation-only model whose answer to each request a test decides, recording every request it was sent.</summary>
internal sealed class GeneratingModel(Func<GenerationRequest, string> answer) : IEvaluationModel
{
    public List<GenerationRequest> Seen { get; } = [];
    public string Name => "generating";
    public Task<IReadOnlyList<LoglikelihoodResult>> LoglikelihoodAsync(IReadOnlyList<LoglikelihoodRequest> r, CancellationToken c = default) => throw new ModelCapabilityException("generation only");
    public Task<IReadOnlyList<RollingLoglikelihoodResult>> LoglikelihoodRollingAsync(IReadOnlyList<string> t, CancellationToken c = default) => throw new ModelCapabilityException("generation only");

    public Task<IReadOnlyList<string>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken c = default)
    {
        Seen.AddRange(requests);
        return Task.FromResult<IReadOnlyList<string>>(requests.Select(answer).ToArray());
    }
}
