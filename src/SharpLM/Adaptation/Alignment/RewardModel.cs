using System.Text.Json;
using SharpLM.Adaptation.Formatting;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Adaptation.Alignment;

/// <summary>reward_head.json: the scalar head of a saved reward model and where its backbone came from.</summary>
public sealed record RewardHeadFile
{
    /// <summary>Version of the layout; only 1 is read.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>The head's weight row, n_embd values.</summary>
    public required float[] Weight { get; init; }
    /// <summary>The head's bias.</summary>
    public required float Bias { get; init; }
    /// <summary>The checkpoint the backbone was initialised from (for messages).</summary>
    public required string BaseCheckpoint { get; init; }
    /// <summary>SHA-256 of that checkpoint's weights.</summary>
    public required string BaseSha256 { get; init; }
    /// <summary>SHA-256 of the tokenizer.json the model reads: a policy it scores must have the same.</summary>
    public required string TokenizerSha256 { get; init; }
}

/// <summary>
/// A reward model (Ouyang et al. 2022; TRL's AutoModelForSequenceClassification with one label): a decoder backbone and
/// a scalar head read at the last reply token, so one forward pass scores a whole prompt + reply. Trained with the
/// Bradley–Terry loss on preference pairs (<see cref="RewardModelTrainer"/>). Saved as a plain checkpoint (LoRA merged)
/// plus reward_head.json — numbers only, so loading one runs no code.
/// </summary>
public sealed class RewardModel : nn.Module
{
    readonly Gpt backbone;
    readonly Linear score;

    /// <summary>A reward model on <paramref name="backbone"/> with a fresh head (normal(0, init_std), bias 0).</summary>
    public RewardModel(Gpt backbone, ITokenizer tokenizer, ChatTemplate template, string tokenizerSha256) : base(nameof(RewardModel))
    {
        this.backbone = backbone;
        score = nn.Linear(backbone.Config.NEmbd, 1);
        using (no_grad())
        {
            nn.init.normal_(score.weight!, 0, backbone.Config.InitStd);
            score.bias!.zero_();
        }
        score.to(backbone.parameters().First().device);
        RegisterComponents();
        Tokenizer = tokenizer;
        Template = template;
        TokenizerSha256 = tokenizerSha256;
    }

    /// <summary>The decoder whose final hidden states the head reads.</summary>
    public Gpt Backbone => backbone;
    /// <summary>The tokenizer of the texts it scores.</summary>
    public ITokenizer Tokenizer { get; }
    /// <summary>The chat template prompts and replies are rendered with.</summary>
    public ChatTemplate Template { get; }
    /// <summary>SHA-256 of its tokenizer.json.</summary>
    public string TokenizerSha256 { get; }

    /// <summary>File name of the head in a reward-model directory.</summary>
    public const string HeadFile = "reward_head.json";

    /// <summary>Scalar rewards [B] of a batch of prompt + reply sequences, read at each one's last reply token.</summary>
    public Tensor Rewards(ReplyBatch batch) => score.forward(batch.AtLastReplyToken(backbone.ForwardHidden(batch.Input))).squeeze(-1);

    /// <summary>Rewards of texts: prompts and replies rendered with the chat template, in batches of <paramref name="batchSize"/>; no gradient.</summary>
    public float[] Score(IReadOnlyList<(IReadOnlyList<Turn> Prompt, string Reply)> items, int batchSize = 32) =>
        ScoreSequences(items.Select(i => ReplySequences.Of(i.Prompt, i.Reply, Template, Tokenizer)).ToList(), batchSize);

    /// <summary>Rewards of token sequences (prompt + reply, reply marked), in batches; no gradient.</summary>
    public float[] ScoreSequences(IReadOnlyList<InstructionTuning.SftExample> sequences, int batchSize = 32)
    {
        var result = new List<float>(sequences.Count);
        var device = backbone.parameters().First().device;
        bool wasTraining = training;
        eval();
        for (int i = 0; i < sequences.Count; i += batchSize)
        {
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            using var batch = ReplyBatch.Create(sequences.Skip(i).Take(batchSize).ToList(), backbone.ContextLength, device);
            result.AddRange(Rewards(batch).to(ScalarType.Float32).cpu().data<float>().ToArray());
        }
        train(wasTraining);
        return result.ToArray();
    }

    /// <summary>
    /// Refuses to score a policy's tokens unless both read them alike: the same tokenizer (by SHA-256 of tokenizer.json).
    /// </summary>
    /// <exception cref="InvalidInputException">The tokenizers differ; names both directories and hashes.</exception>
    public void RequireSameTokenizer(string rewardDir, string policyDir, string policyTokenizerSha256)
    {
        if (!string.Equals(TokenizerSha256, policyTokenizerSha256, StringComparison.OrdinalIgnoreCase))
            throw InvalidInputException.ForFile(Path.Combine(rewardDir, HeadFile),
                $"reward model reads tokenizer sha256 {TokenizerSha256[..12]}…, the policy {policyDir} has tokenizer sha256 {policyTokenizerSha256[..12]}…: they would read different tokens");
    }

    /// <summary>Writes the model into <paramref name="dir"/>: the backbone as a plain checkpoint, tokenizer, chat template and reward_head.json.</summary>
    public void Save(string dir, Gpt plainBackbone, string baseCheckpoint, string baseSha256)
    {
        Directory.CreateDirectory(dir);
        Checkpoint.Save(dir, plainBackbone, null, new CheckpointManifest { Step = 0, Model = plainBackbone.Config, ModelFile = "", ModelSha256 = "" });
        Tokenizer.Save(dir);
        Template.Save(dir);
        var head = new RewardHeadFile
        {
            Weight = score.weight!.detach().to(ScalarType.Float32).cpu().data<float>().ToArray(), Bias = score.bias!.detach().to(ScalarType.Float32).cpu().item<float>(),
            BaseCheckpoint = baseCheckpoint, BaseSha256 = baseSha256, TokenizerSha256 = TokenizerSha256,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, HeadFile), JsonSerializer.Serialize(head, Json.Options));
    }

    /// <summary>Whether <paramref name="dir"/> holds a saved reward model.</summary>
    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, HeadFile));

    /// <summary>Loads a reward model saved by <see cref="Save"/>; the head is checked against the backbone before use.</summary>
    /// <exception cref="InvalidInputException">A missing or malformed file; names it.</exception>
    public static RewardModel Load(string dir, Device device)
    {
        string path = Path.Combine(dir, HeadFile);
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "not found: the directory holds no reward model (sharplm rm train writes one)");
        var head = Json.ReadFile<RewardHeadFile>(path);
        if (head.FormatVersion != 1) throw InvalidInputException.ForFile(path, $"reward head format {head.FormatVersion} is not supported");
        var (backbone, tokenizer, template) = AlignmentPolicy.LoadChatModel(dir, device);
        if (head.Weight is null || head.Weight.Length != backbone.Config.NEmbd || head.Weight.Any(v => !float.IsFinite(v)) || !float.IsFinite(head.Bias))
            throw InvalidInputException.ForFile(path, $"weight must hold n_embd = {backbone.Config.NEmbd} finite numbers");
        string tokenizerSha = AlignmentPolicy.TokenizerSha256Of(dir);
        if (!string.Equals(tokenizerSha, head.TokenizerSha256, StringComparison.OrdinalIgnoreCase))
            throw InvalidInputException.ForFile(path, $"names tokenizer sha256 {head.TokenizerSha256}, but the directory's tokenizer.json has {tokenizerSha}");
        var model = new RewardModel(backbone, tokenizer, template, tokenizerSha);
        using (no_grad())
        {
            using var w = tensor(head.Weight, new long[] { 1, head.Weight.Length });
            model.score.weight!.copy_(w);
            model.score.bias!.fill_(head.Bias);
        }
        foreach (var p in model.parameters()) p.requires_grad = false;
        model.eval();
        return model;
    }
}
