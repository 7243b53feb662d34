using System.Text.Json;
using SharpLM.Tokenization.HuggingFace;

namespace SharpLM.Tokenization;

/// <summary>
/// Opens the tokenizer a model was trained with, from the spec the CLI and checkpoints carry. A character tokenizer
/// is first built from its training text with <see cref="CharTokenizer.FromText"/>; after that it is a saved
/// <c>tokenizer.json</c> like the others.
/// </summary>
public static class TokenizerFactory
{
    /// <summary>Opens the tokenizer <paramref name="spec"/> names.</summary>
    /// <param name="spec">"gpt2"; a directory holding <c>tokenizer.json</c>; or the path of such a file — a Hugging
    /// Face BPE file (GPT-2's layout as <see cref="BpeTokenizer"/>, Llama-2/3, Mistral, Qwen2 and other supported
    /// layouts as <see cref="HuggingFaceTokenizer"/>), or SharpLM's <c>{"type": "char" | "gpt2", …}</c>.</param>
    /// <exception cref="InvalidInputException">The file is missing, unreadable, not JSON, or of no known kind.</exception>
    public static ITokenizer Load(string spec)
    {
        if (spec == "gpt2") return Gpt2Tokenizer.Instance;

        string path = Directory.Exists(spec) ? TokenizerFile.PathIn(spec) : spec;
        using JsonDocument document = TokenizerFile.ReadJson(path, out byte[] bytes);
        JsonElement root = document.RootElement;

        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model", out _))
        {
            try
            {
                // SharpLM's own byte-level BPE files (GPT-2's layout) keep loading as BpeTokenizer, as they always
                // have; every other Hugging Face file is read by the general pipeline, which refuses what it cannot
                // reproduce.
                return HuggingFaceTokenizerJson.IsGpt2Layout(root)
                    ? HuggingFaceTokenizerJson.FromJson(path, root)
                    : HuggingFaceTokenizer.FromJson(path, root, bytes);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json throws this for a string it cannot decode (e.g. an escaped lone surrogate).
                throw InvalidInputException.ForFile(path, $"holds a string that is not valid Unicode ({InvalidInputException.FirstLine(e)})", e);
            }
        }

        return TokenizerFile.GetString(root, "type") switch
        {
            // Either may carry special tokens added after its vocabulary (chat formats); files without them load as before.
            "char" => AddedTokensTokenizer.FromJson(path, root, CharTokenizer.FromJson(path, root)),
            "gpt2" => AddedTokensTokenizer.FromJson(path, root, Gpt2Tokenizer.Instance),
            _ => throw InvalidInputException.ForFile(path,
                "unknown tokenizer file: expected a Hugging Face BPE tokenizer.json or {\"type\": \"char\" | \"gpt2\"}"),
        };
    }
}
