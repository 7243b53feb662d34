using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Prompt;

/// <summary>
/// Prompt tuning (Lester et al. 2021) applied to a <see cref="Gpt"/>: P soft-prompt embeddings prepended to the
/// input only (registered as "prompt_tuning"). They take positions 0 … P−1, so the real tokens' positions shift
/// by P (learned and sinusoidal embeddings, RoPE, ALiBi and T5 all see the tokens at P, P+1, …), and the context
/// left for tokens shrinks by P: <see cref="LanguageModel.ContextLength"/> is block_size − P, which the generator,
/// scoring and perplexity follow; training windows must be at most that long. The logits returned are the
/// tokens' only. With a KV cache the soft prompt enters the cache on the first call, so cached generation equals
/// uncached. Packed rows are refused (one soft prompt per row, not per example).
/// </summary>
public sealed class PromptTuning : PeftMethod
{
    PromptTuning(Gpt model, PromptOptions options, string? baseCheckpoint) : base(model, baseCheckpoint)
    {
        Options = options;
        var prompt = new SoftPrompt(InitialEmbeddings(model, options));
        prompt.train(model.training);
        model.AttachInputPrefix(prompt);
    }

    static Tensor InitialEmbeddings(Gpt model, PromptOptions options)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor table = model.TokenEmbeddingWeight;
        long[] ids = options.Init == "text"
            ? Enumerable.Range(0, options.Length).Select(i => (long)options.InitTokenIds![i % options.InitTokenIds.Count]).ToArray()
            : randint(0, model.Config.VocabSize, new long[] { options.Length }, dtype: ScalarType.Int64).data<long>().ToArray();
        return table.index_select(0, tensor(ids, device: table.device)).DetachFromDisposeScope();
    }

    /// <summary>Adds a soft prompt to <paramref name="model"/> (freezing its weights) and returns the method.</summary>
    public static PromptTuning Apply(Gpt model, PromptOptions options, string? baseCheckpoint = null)
    {
        options.Validate();
        // Checked before anything is frozen or attached.
        foreach (int id in options.Init == "text" ? options.InitTokenIds! : Array.Empty<int>())
            if (id < 0 || id >= model.Config.VocabSize)
                throw new InvalidInputException($"prompt options: init_token_ids holds {id}, outside the vocabulary of {model.Config.VocabSize} tokens");
        if (options.Length >= model.Config.BlockSize)
            throw new InvalidInputException($"prompt options: length {options.Length} leaves no room for tokens in a {model.Config.BlockSize}-position context");
        return new(model, options, baseCheckpoint);
    }

    /// <inheritdoc/>
    public override string Method => PeftMethods.Prompt.Name;

    /// <summary>The options the soft prompt was built with, saved in adapter_config.json.</summary>
    public PromptOptions Options { get; }

    /// <inheritdoc/>
    protected override PeftConfig Describe(PeftConfig common) => common with { Prompt = Options };
}
