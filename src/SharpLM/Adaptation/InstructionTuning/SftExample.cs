namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>
/// One formatted instance as token ids, with which of them the loss trains on. Instruction tuning learns the
/// response, not the prompt: prompt tokens are context only (their labels are masked), response tokens and the
/// end-of-turn token that closes each reply are trained, so the model learns to stop.
/// </summary>
public sealed record SftExample(int[] Tokens, bool[] Trained)
{
    /// <summary>A single-turn instance: the prompt is context, the response plus <paramref name="endOfTurn"/> is trained.</summary>
    public static SftExample FromPromptResponse(IReadOnlyList<int> prompt, IReadOnlyList<int> response, int? endOfTurn)
    {
        var tokens = new List<int>(prompt);
        tokens.AddRange(response);
        if (endOfTurn is int eot) tokens.Add(eot);
        var trained = new bool[tokens.Count];
        for (int i = prompt.Count; i < trained.Length; i++) trained[i] = true;
        return new SftExample(tokens.ToArray(), trained);
    }

    /// <summary>Tokens that carry loss.</summary>
    public int TrainedCount => Trained.Count(t => t);

    /// <summary>Number of tokens, prompt and response together.</summary>
    public int Length => Tokens.Length;
}
