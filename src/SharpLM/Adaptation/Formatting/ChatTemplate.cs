using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Templates;
using SharpLM.Tokenization;
using static SharpLM.Tokenization.SpecialTokens;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// ChatML (OpenAI; the format of Qwen and many open chat models): every message is
/// <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>, and <c>add_generation_prompt</c> appends
/// <c>&lt;|im_start|&gt;assistant\n</c> — character for character what Hugging Face's ChatML Jinja template renders.
/// With a <see cref="DefaultSystemMessage"/>, a conversation that does not start with a system message gets one (as
/// Qwen's template does). The template travels with the tokenizer as <c>chat_template.json</c>; a checkpoint
/// without one gets the default ChatML.
/// <para>A model imported from Hugging Face brings its own template instead (tokenizer_config.json's Jinja
/// <c>chat_template</c>, <see cref="Jinja"/>): rendering, the SFT loss mask and chat then follow it, with the reply
/// spans found by progressive rendering (<see cref="HfChatTemplate.RenderWithAssistantSpans"/>) and the turn ended by
/// the tokenizer's eos_token.</para>
/// </summary>
public sealed record ChatTemplate
{
    /// <summary>The file the template is saved as, next to the tokenizer.</summary>
    public const string FileName = "chat_template.json";

    /// <summary>The built-in ChatML format.</summary>
    public const string ChatMlFormat = "chatml";

    /// <summary>A Hugging Face Jinja template saved with its special tokens.</summary>
    public const string JinjaFormat = "jinja";

    /// <summary>A model's own Jinja chat template; null for the built-in ChatML.</summary>
    public HfChatTemplate? Jinja { get; init; }

    /// <summary>The template of a Hugging Face tokenizer_config.json; its eos_token ends a turn.</summary>
    /// <exception cref="InvalidInputException">The template declares no eos_token.</exception>
    public static ChatTemplate FromHuggingFace(HfChatTemplate jinja)
    {
        if (jinja.SpecialTokens.FirstOrDefault(t => string.IsNullOrEmpty(t.Value)) is { Key: not null } empty)
            throw new InvalidInputException($"{jinja.Template.SourceName}: {empty.Key} is empty");
        return jinja.SpecialTokens.ContainsKey("eos_token") ? new ChatTemplate { Jinja = jinja }
            : throw new InvalidInputException($"{jinja.Template.SourceName}: no eos_token, so the end of an assistant turn is unknown");
    }

    /// <summary>ChatML with no default system message.</summary>
    public static ChatTemplate Default { get; } = new();

    /// <summary>Prepended as a system message when a conversation has none; null for none.</summary>
    public string? DefaultSystemMessage { get; init; }

    /// <summary>The special tokens the tokenizer must have for the template's markers to be single ids.</summary>
    public IReadOnlyList<string> RequiredSpecialTokens => Jinja is null ? [ImStart, ImEnd] : [EndOfTurn];

    /// <summary>Text that ends an assistant reply: generation stops here.</summary>
    public string EndOfTurn => Jinja is null ? ImEnd : Jinja.SpecialTokens["eos_token"];

    /// <summary>Renders <paramref name="turns"/>; with <paramref name="addGenerationPrompt"/> the text ends with the
    /// header of an assistant reply for a model to continue.</summary>
    public RenderedChat Render(IReadOnlyList<Turn> turns, bool addGenerationPrompt = false)
    {
        var text = new System.Text.StringBuilder();
        var spans = new List<TextSpan>();
        foreach (var (segment, trained) in Segments(turns, addGenerationPrompt))
        {
            if (trained) spans.Add(new TextSpan(text.Length, segment.Length));
            text.Append(segment);
        }
        return new RenderedChat(text.ToString(), spans);
    }

    /// <summary>Renders <paramref name="conversation"/>'s turns, as <see cref="Render(IReadOnlyList{Turn}, bool)"/>.</summary>
    public RenderedChat Render(Conversation conversation, bool addGenerationPrompt = false) => Render(conversation.Turns, addGenerationPrompt);

    /// <summary>
    /// Token ids and loss mask. Each segment (headers, assistant content + &lt;|im_end|&gt;, …) is encoded on its own
    /// and the ids concatenated, so the mask is exact at token level; segments meet at special tokens or newlines,
    /// where encoding the whole text would split anyway (for the character tokenizer the ids are identical).
    /// </summary>
    /// <exception cref="InvalidInputException">The tokenizer lacks &lt;|im_start|&gt; or &lt;|im_end|&gt; as special
    /// tokens (see <see cref="SpecialTokens.WithSpecialTokens"/>), or cannot encode a character.</exception>
    public TokenizedChat Tokenize(ITokenizer tokenizer, IReadOnlyList<Turn> turns, bool addGenerationPrompt = false)
    {
        foreach (string token in RequiredSpecialTokens)
            if (tokenizer.IdOf(token) is null)
                throw new InvalidInputException($"chat template: the tokenizer has no special token {token}; add it with WithSpecialTokens (and grow the model's vocabulary)");
        var ids = new List<int>();
        var trainedMask = new List<bool>();
        foreach (var (segment, trained) in Segments(turns, addGenerationPrompt))
        {
            int[] encoded = tokenizer.Encode(segment);
            ids.AddRange(encoded);
            trainedMask.AddRange(Enumerable.Repeat(trained, encoded.Length));
        }
        return new TokenizedChat(ids.ToArray(), trainedMask.ToArray());
    }

    /// <summary>Token ids and loss mask of <paramref name="conversation"/>, without a generation prompt, as
    /// <see cref="Tokenize(ITokenizer, IReadOnlyList{Turn}, bool)"/>.</summary>
    public TokenizedChat Tokenize(ITokenizer tokenizer, Conversation conversation) => Tokenize(tokenizer, conversation.Turns);

    // The single description of the format: pieces of text in order, each marked trained or not.
    IEnumerable<(string Text, bool Trained)> Segments(IReadOnlyList<Turn> turns, bool addGenerationPrompt) =>
        Jinja is null ? ChatMlSegments(turns, addGenerationPrompt) : JinjaSegments(turns, addGenerationPrompt);

    IEnumerable<(string Text, bool Trained)> JinjaSegments(IReadOnlyList<Turn> turns, bool addGenerationPrompt)
    {
        var messages = turns.Select(t => new ChatTemplateMessage(t.Role, t.Content)).ToList();
        if (DefaultSystemMessage is { } system && (turns.Count == 0 || turns[0].Role != Roles.System)) messages.Insert(0, new ChatTemplateMessage(Roles.System, system));
        var rendered = Jinja!.RenderWithAssistantSpans(messages);
        string text = rendered.Text;
        if (addGenerationPrompt)
        {
            text = Jinja.Render(messages, addGenerationPrompt: true);
            if (!text.StartsWith(rendered.Text, StringComparison.Ordinal))
                throw new InvalidInputException($"{Jinja.Template.SourceName}: the generation prompt changes the text before it");
        }
        int at = 0;
        foreach (var span in rendered.AssistantSpans)
        {
            if (span.Start > at) yield return (text[at..span.Start], false);
            // A span runs to the next turn; train through the end-of-turn token only, as ChatML's mask does (what
            // follows it, a newline, is never generated: generation stops at the token).
            string reply = text.Substring(span.Start, span.Length);
            int end = reply.LastIndexOf(EndOfTurn, StringComparison.Ordinal);
            int trained = end < 0 ? reply.Length : end + EndOfTurn.Length;
            yield return (reply[..trained], true);
            at = span.Start + trained;
        }
        if (at < text.Length) yield return (text[at..], false);
    }

    IEnumerable<(string Text, bool Trained)> ChatMlSegments(IReadOnlyList<Turn> turns, bool addGenerationPrompt)
    {
        if (DefaultSystemMessage is { } system && (turns.Count == 0 || turns[0].Role != Roles.System))
            yield return ($"{ImStart}{Roles.System}\n{system}{ImEnd}\n", false);
        foreach (Turn turn in turns)
        {
            if (turn.Role.Contains('\n') || turn.Role.Length == 0) throw new ArgumentException($"role '{turn.Role}' cannot be rendered in ChatML");
            if (turn.Role == Roles.Assistant)
            {
                yield return ($"{ImStart}{turn.Role}\n", false);
                yield return (turn.Content + ImEnd, true);
                yield return ("\n", false);
            }
            else yield return ($"{ImStart}{turn.Role}\n{turn.Content}{ImEnd}\n", false);
        }
        if (addGenerationPrompt) yield return ($"{ImStart}{Roles.Assistant}\n", false);
    }

    /// <summary>
    /// Reads ChatML text back into messages. A trailing generation prompt (<c>&lt;|im_start|&gt;assistant\n</c> with
    /// nothing after it) is allowed and reported in <paramref name="generationPrompt"/>.
    /// </summary>
    /// <exception cref="InvalidInputException">The text is not a sequence of ChatML messages; names the character offset.</exception>
    public static IReadOnlyList<Turn> Parse(string text, out bool generationPrompt)
    {
        var turns = new List<Turn>();
        generationPrompt = false;
        int at = 0;
        while (at < text.Length)
        {
            if (string.CompareOrdinal(text, at, ImStart, 0, ImStart.Length) != 0)
                throw new InvalidInputException($"ChatML: expected {ImStart} at character {at}");
            int roleStart = at + ImStart.Length;
            int newline = text.IndexOf('\n', roleStart);
            if (newline < 0) throw new InvalidInputException($"ChatML: the message at character {at} has no newline after its role");
            string role = text[roleStart..newline];
            int end = text.IndexOf(ImEnd, newline + 1, StringComparison.Ordinal);
            if (end < 0)
            {
                if (newline + 1 == text.Length && role == Roles.Assistant) { generationPrompt = true; break; }
                throw new InvalidInputException($"ChatML: the message at character {at} has no {ImEnd}");
            }
            turns.Add(new Turn(role, text[(newline + 1)..end]));
            at = end + ImEnd.Length;
            if (at < text.Length && text[at] == '\n') at++;
            else if (at < text.Length) throw new InvalidInputException($"ChatML: expected a newline after {ImEnd} at character {at}");
        }
        return turns;
    }

    /// <summary>Reads ChatML text back into messages, as <see cref="Parse(string, out bool)"/>, ignoring whether it ends
    /// with a generation prompt.</summary>
    public static IReadOnlyList<Turn> Parse(string text) => Parse(text, out _);

    /// <summary>Writes <c>directory/chat_template.json</c> atomically.</summary>
    public void Save(string directory) =>
        AtomicFile.WriteAllText(PathIn(directory), System.Text.Json.JsonSerializer.Serialize(
            Jinja is null ? new ChatTemplateFile(ChatMlFormat, DefaultSystemMessage)
                : new ChatTemplateFile(JinjaFormat, DefaultSystemMessage, Jinja.Template.Source, Jinja.SpecialTokens.ToDictionary()), Json.Options));

    /// <summary>
    /// The template as Hugging Face Jinja, for tokenizer_config.json and GGUF's tokenizer.chat_template: the model's own,
    /// or ChatML written as the Jinja that renders the same text (with the default system message when there is one).
    /// </summary>
    public string AsJinja()
    {
        if (Jinja is not null) return Jinja.Template.Source;
        string system = DefaultSystemMessage is null ? ""
            : "{% if messages | length == 0 or messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\n' + " + JinjaTemplate.Quote(DefaultSystemMessage) + " + '<|im_end|>\\n' }}{% endif %}";
        return system + "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    }

    /// <summary>The template saved in <paramref name="directory"/>, or <see cref="Default"/> when there is none.</summary>
    /// <exception cref="InvalidInputException">The file exists but is malformed; names the file and field.</exception>
    public static ChatTemplate Load(string directory)
    {
        string path = PathIn(directory);
        if (!File.Exists(path)) return Default;
        var file = Json.ReadFile<ChatTemplateFile>(path);
        if (file.Format == JinjaFormat)
        {
            if (file.Template is null) throw InvalidInputException.ForFile(path, "template: missing (a jinja chat template needs its text)");
            return FromHuggingFace(new HfChatTemplate(file.Template, $"{path}: template", file.SpecialTokens)) with { DefaultSystemMessage = file.DefaultSystemMessage };
        }
        if (file.Format != ChatMlFormat) throw InvalidInputException.ForFile(path, $"format: unknown chat format '{file.Format}' (expected \"{ChatMlFormat}\" or \"{JinjaFormat}\")");
        return new ChatTemplate { DefaultSystemMessage = file.DefaultSystemMessage };
    }

    /// <summary>Where the template file of <paramref name="directory"/> is (whether or not it exists).</summary>
    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    internal sealed record ChatTemplateFile(string Format, string? DefaultSystemMessage, string? Template = null, IReadOnlyDictionary<string, string>? SpecialTokens = null);
}
