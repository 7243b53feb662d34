using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;

namespace SharpLM.Inference;

/// <summary>
/// A SharpLM model as an <see cref="IChatClient"/>, so anything written against Microsoft.Extensions.AI — Self-Instruct,
/// evaluation — runs on a local checkpoint exactly as on a server. Messages are rendered with the model's
/// <see cref="ChatTemplate"/> plus the generation prompt, and the reply is generated with <see cref="Generator"/>
/// until &lt;|im_end|&gt; (as a special token, or as text for a tokenizer without it), a stop sequence, the end-of-text
/// token or the token limit. ChatOptions honoured: MaxOutputTokens, Temperature, TopP, TopK, Seed, StopSequences,
/// Instructions (a system message first), and Tools: described in the system message, called and answered in the text
/// convention of <see cref="ToolCallFormat"/>; the calls in a reply come back as <see cref="FunctionCallContent"/>, so a
/// function-invoking client can run them. With tools the reply is generated whole before it is returned (a call is
/// only known once its closing tag is written). Generation runs on the calling thread.
/// </summary>
public sealed class CheckpointChatClient : IChatClient
{
    readonly Generator generator;
    readonly ITokenizer tokenizer;
    readonly ChatTemplate template;
    readonly int? endOfTurnId;
    // Every special token ends a reply: a reply never contains one, and a sampled <|im_start|> (a model starting the
    // next turn itself) must not reach the user.
    readonly HashSet<int> specialIds;
    readonly ChatClientMetadata metadata;

    /// <summary>A client for a model already loaded; <see cref="Load"/> builds one from a run directory.</summary>
    /// <param name="model">The model that writes the replies.</param>
    /// <param name="tokenizer">The tokenizer the model was trained with.</param>
    /// <param name="template">Renders the messages; its end-of-turn string ends a reply.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="modelId">The model id reported in metadata and in every response.</param>
    public CheckpointChatClient(LanguageModel model, ITokenizer tokenizer, ChatTemplate template, Device device, string modelId = "sharplm")
    {
        generator = new Generator(model, tokenizer, device);
        this.tokenizer = tokenizer;
        this.template = template;
        endOfTurnId = tokenizer.IdOf(template.EndOfTurn);
        specialIds = [.. tokenizer.SpecialTokenIds.Values];
        metadata = new ChatClientMetadata("sharplm", null, modelId);
    }

    /// <summary>Sampling when ChatOptions leave a setting unset (max 256 new tokens, temperature 0.8, seed 1337).</summary>
    public SamplingOptions Defaults { get; init; } = new() { MaxNewTokens = 256 };

    /// <summary>What the system message says about the tools offered (default <see cref="ToolCallFormat.Instructions"/>):
    /// a small model trained with a shorter description is prompted with the one it learned.</summary>
    public Func<IEnumerable<AITool>, string>? DescribeTools { get; init; }

    /// <summary>Loads a model in any format <see cref="Adaptation.ModelBundle"/> reads, with its chat template (default ChatML when it declares none).</summary>
    /// <exception cref="InvalidInputException">Missing or mismatched files.</exception>
    public static CheckpointChatClient Load(string spec, Device device)
    {
        var bundle = Adaptation.ModelBundle.Load(spec, device);
        return new CheckpointChatClient(bundle.Model, bundle.Tokenizer, bundle.ChatTemplate, device, $"checkpoint:{spec}");
    }

    /// <summary>Generates the whole reply (synchronously, on the calling thread) and returns it as one assistant message.</summary>
    /// <exception cref="NotSupportedException">A message has a role other than system, user, assistant or tool.</exception>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (message, finish) = Reply(messages, options, cancellationToken);
        return Task.FromResult(new ChatResponse(message) { ModelId = metadata.DefaultModelId, FinishReason = finish });
    }

    // The whole reply as one message: its text, and with tools its calls.
    (ChatMessage Message, ChatFinishReason? Finish) Reply(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        foreach (var (piece, reason) in Generate(messages, options, cancellationToken))
        {
            text.Append(piece);
            finish = reason ?? finish;
        }
        return ChatPrompt.Reply(text.ToString(), finish, options?.Tools is { Count: > 0 });
    }

    /// <summary>Yields the reply's text as it becomes final; the last update carries the finish reason (Stop or Length).</summary>
    /// <exception cref="NotSupportedException">A message has a role other than system, user, assistant or tool.</exception>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask; // generation is synchronous; the interface is asynchronous
        if (options?.Tools is { Count: > 0 })
        {
            var (message, finish) = Reply(messages, options, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, message.Contents) { ModelId = metadata.DefaultModelId, FinishReason = finish };
            yield break;
        }
        foreach (var (piece, reason) in Generate(messages, options, cancellationToken))
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece.Length > 0 ? piece : null)
            {
                ModelId = metadata.DefaultModelId, FinishReason = reason,
            };
    }

    /// <summary>The prompt text the model continues for <paramref name="messages"/> (<see cref="ChatPrompt.Render"/>).</summary>
    public string RenderPrompt(IEnumerable<ChatMessage> messages, ChatOptions? options = null) =>
        ChatPrompt.Render(template, messages, options, DescribeTools);

    internal SamplingOptions Sampling(ChatOptions? options) => Defaults with
    {
        MaxNewTokens = options?.MaxOutputTokens ?? Defaults.MaxNewTokens,
        Temperature = options?.Temperature ?? Defaults.Temperature,
        TopP = options?.TopP ?? Defaults.TopP,
        TopK = options?.TopK ?? Defaults.TopK,
        Seed = options?.Seed is long seed ? unchecked((ulong)seed) : Defaults.Seed,
        StopStrings = options?.StopSequences is { Count: > 0 } stops ? stops.ToArray() : Defaults.StopStrings,
    };

    /// <summary>Text pieces as they become final; the last carries the finish reason (Stop or Length).</summary>
    IEnumerable<(string Text, ChatFinishReason? Reason)> Generate(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        var sampling = Sampling(options).Validate();
        // Without <|im_end|> as a special token the model can still write it character by character.
        var stops = endOfTurnId is null ? sampling.StopStrings.Append(template.EndOfTurn).ToArray() : sampling.StopStrings.ToArray();
        int[] prompt = tokenizer.Encode(RenderPrompt(messages, options));

        var generated = new List<int>();
        int emitted = 0;
        foreach (int id in generator.GenerateTokens(prompt, sampling))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (id == endOfTurnId || specialIds.Contains(id)) break;
            generated.Add(id);
            string text = tokenizer.Decode(generated.ToArray());
            int stop = Generator.FirstStop(text, stops, emitted);
            if (stop >= 0)
            {
                yield return (text[emitted..stop], ChatFinishReason.Stop);
                yield break;
            }
            int safe = text.Length - Generator.HeldBack(text, stops);
            if (safe > emitted)
            {
                yield return (text[emitted..safe], null);
                emitted = safe;
            }
        }
        string rest = tokenizer.Decode(generated.ToArray());
        // The token limit, unless the last token was the end of the turn (or end of text) right at the limit.
        bool atLimit = generated.Count >= sampling.MaxNewTokens;
        yield return (rest[emitted..], atLimit ? ChatFinishReason.Length : ChatFinishReason.Stop);
    }

    /// <summary>The client's <see cref="ChatClientMetadata"/>, or the client itself for a type it is; null for anything else or any key.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <summary>Does nothing: the model is not disposed with the client.</summary>
    public void Dispose() { }
}
