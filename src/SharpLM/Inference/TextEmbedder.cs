using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;

namespace SharpLM.Inference;

/// <summary>
/// A text as one vector from a language model's own hidden states: the mean of the final hidden states over its
/// tokens, scaled to unit length, so the dot product of two embeddings is their cosine. What few-shot selection by
/// "embedding nearest neighbours" ranks demonstrations with (Liu et al., 2022, "What Makes Good In-Context Examples
/// for GPT-3?"), from the model that will read them rather than from a second encoder.
/// </summary>
public sealed class TextEmbedder
{
    readonly Gpt model;
    readonly ITokenizer tokenizer;
    readonly Device device;

    /// <exception cref="InvalidInputException">The model is not a decoder whose hidden states can be read (an RNN or an encoder-decoder).</exception>
    public TextEmbedder(LanguageModel model, ITokenizer tokenizer, Device device)
    {
        this.model = model as Gpt ?? throw new InvalidInputException($"embeddings need a decoder's hidden states; a {model.Config.Type} ({model.Config.Architecture}) model has none to offer");
        this.tokenizer = tokenizer;
        this.device = device;
    }

    /// <summary>The embedding of <paramref name="text"/> (its last context-length tokens when longer); all zeros for an empty text.</summary>
    public float[] Embed(string text)
    {
        int[] ids = tokenizer.Encode(text);
        if (ids.Length == 0) return new float[model.Config.NEmbd];
        if (ids.Length > model.ContextLength) ids = ids[^model.ContextLength..];
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        bool training = model.training;
        model.eval();
        var hidden = model.ForwardHidden(tensor(ids.Select(i => (long)i).ToArray(), device: device).unsqueeze(0));
        if (training) model.train();
        var mean = hidden[0].mean([0]).to(float32);
        return nn.functional.normalize(mean, dim: 0).cpu().data<float>().ToArray();
    }

    /// <summary>The cosine of two embeddings (their dot product: both have unit length).</summary>
    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0;
        for (int i = 0; i < a.Length; i++) dot += (double)a[i] * b[i];
        return dot;
    }
}
