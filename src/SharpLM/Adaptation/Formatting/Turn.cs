namespace SharpLM.Adaptation.Formatting;

/// <summary>One message of a conversation: who speaks (<see cref="Roles"/>) and what they say.</summary>
public sealed record Turn(string Role, string Content)
{
    /// <summary>A system message (instructions for the assistant, before the first user turn).</summary>
    public static Turn System(string content) => new(Roles.System, content);
    /// <summary>A user message.</summary>
    public static Turn User(string content) => new(Roles.User, content);
    /// <summary>An assistant reply: the text a supervised fine-tuning loss is computed on.</summary>
    public static Turn Assistant(string content) => new(Roles.Assistant, content);
}

/// <summary>The roles of instruction-tuning data, with OpenAI's names (ShareGPT's are mapped onto them on reading).</summary>
public static class Roles
{
    /// <summary>The optional first message, setting the assistant's behaviour.</summary>
    public const string System = "system";
    /// <summary>The person's messages (ShareGPT's "human").</summary>
    public const string User = "user";
    /// <summary>The model's replies (ShareGPT's "gpt").</summary>
    public const string Assistant = "assistant";
}
