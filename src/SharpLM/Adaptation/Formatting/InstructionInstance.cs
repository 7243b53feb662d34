namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// One formatted instance for supervised fine-tuning: the prompt (instruction, input and any exemplars) and the
/// response to learn. <see cref="Phrasing"/> says which of the template's phrasings made it, so evaluation can
/// separate seen and held-out phrasings.
/// </summary>
public sealed record InstructionInstance(string Task, int Phrasing, string Prompt, string Response)
{
    /// <summary>The instance as a one-exchange conversation, for a chat template.</summary>
    public Conversation ToConversation(string? system = null)
    {
        var turns = new List<Turn> { Turn.User(Prompt), Turn.Assistant(Response) };
        if (system is not null) turns.Insert(0, Turn.System(system));
        return new Conversation(turns);
    }
}
