using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;

namespace SharpLM.Inference;

/// <summary>
/// Microsoft.Extensions.AI messages as the prompt text a chat model continues: the one rendering that
/// <see cref="CheckpointChatClient"/> and the server's chat endpoint share, so a conversation with tool calls reads the
/// same to the model whether it runs in-process or behind <c>sharplm serve</c>. Tool results go back in a user turn
/// (consecutive ones together) and calls are written in the assistant's text, both as <see cref="ToolCallFormat"/> has
/// it; the tools themselves are described at the end of the system message.
/// </summary>
public static class ChatPrompt
{
    /// <summary>The template's rendering of <paramref name="messages"/> plus the header of the assistant's reply. The
    /// <paramref name="options"/> read are Instructions (a leading system message) and Tools; <paramref name="describeTools"/>
    /// says what the system message tells about the tools (default <see cref="ToolCallFormat.Instructions"/>): a model
    /// trained with a shorter description is prompted with that one.</summary>
    /// <exception cref="NotSupportedException">A message has a role other than system, user, assistant or tool.</exception>
    public static string Render(ChatTemplate template, IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        Func<IEnumerable<AITool>, string>? describeTools = null) =>
        template.Render(Turns(messages, options, describeTools), addGenerationPrompt: true).Text;

    /// <summary>The turns <see cref="Render"/> renders.</summary>
    public static IReadOnlyList<Turn> Turns(IEnumerable<ChatMessage> messages, ChatOptions? options = null, Func<IEnumerable<AITool>, string>? describeTools = null)
    {
        var turns = new List<Turn>();
        if (options?.Instructions is { } instructions) turns.Add(Turn.System(instructions));
        foreach (ChatMessage message in messages)
        {
            string role = message.Role.Value;
            if (role == ChatRole.Tool.Value)
            {
                string results = string.Join("\n", message.Contents.OfType<FunctionResultContent>().Select(ToolCallFormat.Render));
                if (turns.Count > 0 && turns[^1].Role == Roles.User && turns[^1].Content.EndsWith(ToolCallFormat.ResponseClose, StringComparison.Ordinal))
                    turns[^1] = Turn.User(turns[^1].Content + "\n" + results);
                else turns.Add(Turn.User(results));
                continue;
            }
            if (role is not (Roles.System or Roles.User or Roles.Assistant))
                throw new NotSupportedException($"messages with role '{role}' are not supported");
            var calls = message.Contents.OfType<FunctionCallContent>().Select(ToolCallFormat.Render).ToList();
            string content = calls.Count == 0 ? message.Text : string.Join("\n", new[] { message.Text }.Where(t => t.Length > 0).Concat(calls));
            turns.Add(new Turn(role, content));
        }
        if (options?.Tools is { Count: > 0 } tools)
        {
            string described = (describeTools ?? ToolCallFormat.Instructions)(tools);
            if (turns.Count > 0 && turns[0].Role == Roles.System) turns[0] = Turn.System(turns[0].Content + "\n\n" + described);
            else turns.Insert(0, Turn.System(described));
        }
        return turns;
    }

    /// <summary>
    /// A generated reply as an assistant message: with tools offered, the calls it writes become
    /// <see cref="FunctionCallContent"/> (finish reason ToolCalls) and the rest stays text; a malformed call stays in
    /// the text, where the caller can show it back to the model.
    /// </summary>
    public static (ChatMessage Message, ChatFinishReason? Finish) Reply(string text, ChatFinishReason? finish, bool toolsOffered)
    {
        if (!toolsOffered) return (new ChatMessage(ChatRole.Assistant, text), finish);
        var (rest, calls, _) = ToolCallFormat.Parse(text);
        var contents = new List<AIContent>();
        if (rest.Length > 0) contents.Add(new TextContent(rest));
        contents.AddRange(calls);
        return (new ChatMessage(ChatRole.Assistant, contents), calls.Count > 0 ? ChatFinishReason.ToolCalls : finish);
    }
}
