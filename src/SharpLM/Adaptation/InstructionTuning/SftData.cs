using SharpLM.Data;
using SharpLM.Adaptation.Formatting;
using SharpLM.Tokenization;

namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>A held-out instruction and the reply it must produce, for exact-match evaluation.</summary>
public sealed record HeldOutPrompt(string Task, IReadOnlyList<Turn> Context, string Answer);

/// <summary>
/// Training conversations and held-out prompts of an instruction-tuning run: <paramref name="HeldOut"/> are
/// instructions not trained on (scored during training); <paramref name="HeldOutPhrasings"/>, for the synthetic
/// suite, are instructions in phrasings never trained on (scored at the end: generalisation to new wording).
/// </summary>
public sealed record SftData(IReadOnlyList<Conversation> Train, IReadOnlyList<HeldOutPrompt> HeldOut, IReadOnlyList<HeldOutPrompt> HeldOutPhrasings)
{
    /// <summary>
    /// Reads <paramref name="path"/> in <paramref name="format"/>: "alpaca", "sharegpt", "messages" (OpenAI) or
    /// "chatml" (JSONL chat files; auto-detected; a data set name such as "alpaca" is fetched), or "tasks" with path "synthetic" or "synthetic:SEED" for the
    /// synthetic suite (held out: its held-out phrasings). For chat files the last
    /// <paramref name="heldOutFraction"/> of the conversations are held out: their last assistant reply is the answer.
    /// </summary>
    public static SftData Load(string path, string format, double heldOutFraction = 0.05, SyntheticSuiteOptions? suite = null)
    {
        if (format == "tasks")
        {
            if (!path.StartsWith("synthetic", StringComparison.Ordinal))
                throw new InvalidInputException($"--data {path}: format 'tasks' reads the generated suite: pass 'synthetic' or 'synthetic:SEED'");
            var options = suite ?? new SyntheticSuiteOptions();
            if (path.Length > "synthetic".Length)
            {
                if (!ulong.TryParse(path["synthetic:".Length..], out ulong seed)) throw new InvalidInputException($"--data {path}: the seed after 'synthetic:' must be a number");
                options = options with { Seed = seed };
            }
            var splits = SyntheticSuite.Build(options);
            return new SftData(splits.Train.Select(e => e.ToConversation()).ToList(), Interleaved(splits.TestSeen), Interleaved(splits.TestHeldOutTemplates));
        }
        var chatFormat = format switch
        {
            "alpaca" => ChatDataFormat.Alpaca,
            "sharegpt" => ChatDataFormat.ShareGpt,
            "messages" => ChatDataFormat.Messages,
            "chatml" => ChatDataFormat.Auto,
            _ => throw new InvalidInputException($"--format: '{format}' is not supported (alpaca, chatml, sharegpt, messages, tasks)"),
        };
        var conversations = ChatDataReader.Read(Corpora.Resolve(path), chatFormat); // "alpaca": the named data set
        if (conversations.Count < 2) throw InvalidInputException.ForFile(path, "needs at least two conversations (one to train on, one held out)");
        int held = Math.Clamp((int)Math.Round(conversations.Count * heldOutFraction), 1, conversations.Count - 1);
        var train = conversations.Take(conversations.Count - held).ToList();
        var heldOut = conversations.Skip(conversations.Count - held).Select(c =>
        {
            int last = c.Turns.Count - 1;
            while (last >= 0 && c.Turns[last].Role != Roles.Assistant) last--;
            return last < 0 ? null : new HeldOutPrompt("chat", c.Turns.Take(last).ToList(), c.Turns[last].Content);
        }).OfType<HeldOutPrompt>().ToList();
        return new SftData(train, heldOut, []);
    }

    /// <summary>Held-out prompts round-robin over tasks, so that scoring only the first n still covers every task.</summary>
    static List<HeldOutPrompt> Interleaved(IReadOnlyList<SyntheticExample> examples) =>
        examples.GroupBy(e => e.Task).SelectMany(g => g.Select((e, i) => (e, i))).OrderBy(x => x.i).Select(x => x.e)
            .Select(e => new HeldOutPrompt(e.Task, [Turn.User(e.Prompt)], e.Answer)).ToList();

    /// <summary>
    /// The training conversations as token ids with their loss masks (assistant replies and their end-of-turn).
    /// Conversations the tokenizer cannot encode (a character tokenizer meets a character it never saw) are left
    /// out and counted in <paramref name="skipped"/>, as a byte-level tokenizer never needs to.
    /// </summary>
    public IReadOnlyList<SftExample> Examples(ChatTemplate template, ITokenizer tokenizer, out int skipped)
    {
        var examples = new List<SftExample>();
        skipped = 0;
        foreach (var c in Train)
        {
            TokenizedChat chat;
            try { chat = template.Tokenize(tokenizer, c); }
            catch (InvalidInputException) { skipped++; continue; }
            examples.Add(new SftExample(chat.Ids, chat.Trained));
        }
        return examples;
    }

    /// <summary>The held-out prompts (and answers) the tokenizer can encode; the others cannot be scored.</summary>
    public static IReadOnlyList<HeldOutPrompt> Encodable(IReadOnlyList<HeldOutPrompt> prompts, ChatTemplate template, ITokenizer tokenizer) =>
        prompts.Where(p =>
        {
            try
            {
                template.Tokenize(tokenizer, [.. p.Context, Turn.Assistant(p.Answer)]);
                return true;
            }
            catch (InvalidInputException) { return false; }
        }).ToList();
}
