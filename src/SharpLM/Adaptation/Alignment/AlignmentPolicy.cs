using System.Security.Cryptography;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Adaptation.Alignment;

/// <summary>How the policy is trained: every weight ("full") or LoRA on the frozen checkpoint ("lora").</summary>
public static class PolicyMethods
{
    /// <summary>Every weight trains; the reference is a second, frozen copy of the checkpoint.</summary>
    public const string Full = "full";
    /// <summary>LoRA trains; the reference is the same weights with the adapter switched off (no second copy).</summary>
    public const string Lora = "lora";
    /// <summary>Both.</summary>
    public static readonly IReadOnlyList<string> All = [Full, Lora];
}

/// <summary>
/// The model alignment trains, and the frozen reference it is kept close to. Loaded from an instruction-tuned
/// checkpoint (with its tokenizer and chat template). With LoRA the reference is the same weights with the adapter
/// switched off (<see cref="LoraTuning.DisableAdapters"/>), so policy, reference and — for PPO — a value head on the
/// policy's own hidden states share one copy of the base, as TRL does with a PEFT model; with full fine-tuning the
/// reference is a second, frozen copy. <see cref="Modules"/> owns every trained tensor, for the optimizer and for
/// resumable state.
/// </summary>
public sealed class AlignmentPolicy : IDisposable
{
    readonly Gpt? referenceCopy;

    AlignmentPolicy(string source, Gpt model, LoraTuning? lora, Gpt? referenceCopy, Linear? valueHead, ITokenizer tokenizer, ChatTemplate template,
        string baseSha256, string tokenizerSha256)
    {
        Source = source;
        Model = model;
        Lora = lora;
        this.referenceCopy = referenceCopy;
        ValueHead = valueHead;
        Tokenizer = tokenizer;
        Template = template;
        BaseSha256 = baseSha256;
        TokenizerSha256 = tokenizerSha256;
        Modules = new PolicyModules(model, valueHead);
    }

    /// <summary>The checkpoint directory the policy was loaded from.</summary>
    public string Source { get; }
    /// <summary>The policy: the checkpoint's model, with LoRA inside when the method is "lora".</summary>
    public Gpt Model { get; }
    /// <summary>The LoRA method on <see cref="Model"/>, or null for full fine-tuning.</summary>
    public LoraTuning? Lora { get; }
    /// <summary>PPO's value head (n_embd → 1) on the policy's final hidden states, or null.</summary>
    public Linear? ValueHead { get; }
    /// <summary>The checkpoint's tokenizer.</summary>
    public ITokenizer Tokenizer { get; }
    /// <summary>The checkpoint's chat template.</summary>
    public ChatTemplate Template { get; }
    /// <summary>SHA-256 of the checkpoint's weights (<see cref="BaseWeights"/>): the reference's identity.</summary>
    public string BaseSha256 { get; }
    /// <summary>SHA-256 of the checkpoint's tokenizer.json: models that score the policy's tokens must share it.</summary>
    public string TokenizerSha256 { get; }
    /// <summary>The policy and its value head as one module: what the optimizer updates and a resume restores.</summary>
    public nn.Module Modules { get; }

    /// <summary>"lora" or "full".</summary>
    public string Method => Lora is null ? PolicyMethods.Full : PolicyMethods.Lora;

    /// <summary>
    /// Loads the policy from <paramref name="checkpointDir"/>: a decoder-only Transformer with a tokenizer that has the
    /// chat tokens. The fresh LoRA matrices and the value head are drawn from <paramref name="seed"/>.
    /// </summary>
    /// <exception cref="InvalidInputException">Not such a checkpoint, an unknown method, or bad LoRA options.</exception>
    public static AlignmentPolicy Load(string checkpointDir, string method, LoraOptions lora, bool valueHead, int seed, Device device)
    {
        if (!PolicyMethods.All.Contains(method)) throw new InvalidInputException($"--method: '{method}' is not one of {string.Join(", ", PolicyMethods.All)}");
        var (model, tokenizer, template) = LoadChatModel(checkpointDir, device);
        string baseSha = BaseWeights.Sha256(model);
        torch.manual_seed(seed);
        LoraTuning? tuning = null;
        Gpt? reference = null;
        if (method == PolicyMethods.Lora) tuning = LoraTuning.Apply(model, lora.Validate("--lora-*"), checkpointDir);
        else
        {
            reference = LoadChatModel(checkpointDir, device).Model;
            foreach (var p in reference.parameters()) p.requires_grad = false;
            reference.eval();
        }
        Linear? head = null;
        if (valueHead)
        {
            head = nn.Linear(model.Config.NEmbd, 1);
            using (no_grad())
            {
                nn.init.normal_(head.weight!, 0, model.Config.InitStd);
                head.bias!.zero_();
            }
            head.to(device);
        }
        return new AlignmentPolicy(checkpointDir, model, tuning, reference, head, tokenizer, template, baseSha, TokenizerSha256Of(ModelLocation.Parse(checkpointDir).Path));
    }

    /// <summary>A checkpoint's decoder, tokenizer and chat template, checked to be usable for chat alignment.</summary>
    /// <exception cref="InvalidInputException">The checkpoint is not a decoder-only Transformer, or its tokenizer lacks the chat tokens.</exception>
    public static (Gpt Model, ITokenizer Tokenizer, ChatTemplate Template) LoadChatModel(string checkpointDir, Device device)
    {
        var bundle = ModelBundle.Load(checkpointDir, device);
        if (bundle.Model is not Gpt gpt || bundle.Model.Config.Architecture != "causal_decoder")
            throw InvalidInputException.ForFile(bundle.Location.Path, $"alignment needs a causal decoder; this checkpoint is a {bundle.Model.Config.Architecture} {bundle.Model.Config.Type}");
        var (tokenizer, template) = (bundle.Tokenizer, bundle.ChatTemplate);
        foreach (string token in template.RequiredSpecialTokens)
            if (tokenizer.IdOf(token) is null)
                throw InvalidInputException.ForFile(bundle.Location.Path, $"the tokenizer has no chat token {token}: align an instruction-tuned checkpoint (sharplm sft)");
        gpt.eval();
        return (gpt, tokenizer, template);
    }

    /// <summary>SHA-256 of <paramref name="checkpointDir"/>/tokenizer.json: two models read the same token ids only if these agree.</summary>
    public static string TokenizerSha256Of(string checkpointDir)
    {
        // A GGUF file carries its tokenizer inside: alignment starts from a run or a Hugging Face folder.
        if (File.Exists(checkpointDir)) throw InvalidInputException.ForFile(checkpointDir, "alignment needs a run directory or a Hugging Face folder, with its tokenizer.json; convert the GGUF file first (sharplm convert)");
        string path = TokenizerFile.PathIn(checkpointDir);
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "missing: the checkpoint has no tokenizer");
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>Id of the end-of-turn token, where sampled replies stop.</summary>
    public int EndOfTurnId => Tokenizer.IdOf(Template.EndOfTurn)!.Value;

    /// <summary>The reference's next-token logits for <paramref name="idx"/>, without gradient.</summary>
    public Tensor ReferenceLogits(Tensor idx)
    {
        using var _ = no_grad();
        if (referenceCopy is not null) return referenceCopy.forward(idx);
        using var off = Lora!.DisableAdapters();
        return Model.forward(idx);
    }

    /// <summary>Per-token log-probs [B, T−1] of the batch's targets under the reference, without gradient.</summary>
    public Tensor ReferenceLogProbs(ReplyBatch batch)
    {
        using var _ = no_grad();
        return batch.TokenLogProbs(ReferenceLogits(batch.Input)[.., ..^1]);
    }

    /// <summary>Every tensor that trains, by name in <see cref="Modules"/>: LoRA's (or all weights) and the value head's.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Trainable =>
        Modules.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();

    /// <summary>Writes the trained tensors (not the frozen base) to <paramref name="path"/> atomically; a resume reads them back.</summary>
    public void SaveTrainable(string path) =>
        IO.AtomicFile.Write(path, s => AdapterDirectory.WriteTensors(s, Trainable.Select(p => (p.Name, (Tensor)p.Parameter)).ToList()));

    /// <summary>Copies tensors written by <see cref="SaveTrainable"/> back into the trained parameters, matching names and shapes.</summary>
    /// <exception cref="InvalidInputException">The file does not hold exactly these tensors.</exception>
    public void LoadTrainable(string path)
    {
        List<(string Name, long[] Shape, float[] Values)> saved;
        try
        {
            using var s = File.OpenRead(path);
            saved = AdapterDirectory.ReadTensors(s);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or InvalidDataException)
        {
            throw InvalidInputException.ForFile(path, $"cannot read trained weights: {InvalidInputException.FirstLine(e)}", e);
        }
        var targets = Trainable;
        if (saved.Count != targets.Count || !saved.Select(t => t.Name).SequenceEqual(targets.Select(t => t.Name)))
            throw InvalidInputException.ForFile(path, $"holds {saved.Count} tensors that do not match the run's {targets.Count} trained ones (another method or LoRA shape?)");
        using var _ = no_grad();
        foreach (var ((name, shape, values), (_, target)) in saved.Zip(targets))
        {
            if (!shape.SequenceEqual(target.shape)) throw InvalidInputException.ForFile(path, $"tensor '{name}' has another shape than the run's");
            using var loaded = tensor(values, shape);
            target.copy_(loaded);
        }
    }

    /// <summary>
    /// Writes the aligned policy as a plain checkpoint (LoRA merged into the weights; no value head) with the tokenizer and
    /// chat template into <paramref name="dir"/>: what sample, chat, eval and serve load.
    /// </summary>
    public void Export(string dir)
    {
        Directory.CreateDirectory(dir);
        using var merged = Lora?.ExportMerged();
        var plain = merged ?? Model;
        Checkpoint.Save(dir, plain, null, new CheckpointManifest { Step = 0, Model = plain.Config, ModelFile = "", ModelSha256 = "" });
        Tokenizer.Save(dir);
        Template.Save(dir);
    }

    /// <summary>Frees the reference copy, if any.</summary>
    public void Dispose() => referenceCopy?.Dispose();

    /// <summary>The policy and its value head under one root: "policy.…" and "v_head.…".</summary>
    sealed class PolicyModules : nn.Module
    {
        public PolicyModules(Gpt policy, Linear? valueHead) : base(nameof(PolicyModules))
        {
            register_module("policy", policy);
            if (valueHead is not null) register_module("v_head", valueHead);
        }
    }
}
