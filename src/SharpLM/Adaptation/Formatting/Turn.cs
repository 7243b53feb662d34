namespace SharpLM.Adaptation.Formatting;

/// <summary>One message of a conversation: who speaks (<see cref="Roles"/>) and what they say.</summary>
public sealed record Turn(string Role, string Content)
{
    public static Turn System(string content) => new(Roles.System, content);
    public static Turn User(string content) => new(Roles.User, content);
    public static Turn Assistant(string content) => new(Roles.Assistant, content);
}

/// <summary>The roles of instruction-tuning data, with OpenAI's names (ShareGPT's are mapped onto them on reading).</summary>
public static class Roles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
}
