using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

/// <summary>
/// Builds realistic Hugging Face tokenizer.json files in the layouts real models ship, since no real Llama, Mistral
/// or Qwen file can be downloaded here: a byte-level BPE trained by SharpLM's <see cref="BpeTrainer"/> on
/// <see cref="MixedText"/> is written as GPT-2's, Llama-3's (Split regex + ByteLevel, ignore_merges, TemplateProcessing
/// with &lt;|begin_of_text|&gt;, reserved special tokens) and Qwen2's (NFC, its pattern, ChatML tokens) layouts; a
/// SentencePiece-style BPE ("▁" pieces, &lt;0xNN&gt; byte tokens, &lt;unk&gt;/&lt;s&gt;/&lt;/s&gt;) trained by a small
/// trainer here is written as Llama-2's layout (Prepend/Replace normalizer) and Mistral's newer one (Metaspace
/// pre-tokenizer). Deterministic: the same files every run. Shared with the benchmark (bench/SharpLM.Bench).
/// </summary>
public static class HfFixtures
{
    /// <summary>The layouts, by name.</summary>
    public static readonly string[] Kinds = ["gpt2", "gpt2-prefix-space", "llama3", "qwen2", "llama2", "mistral"];

    /// <summary>
    /// Whole words (pieces of Llama-3's split) added to its vocab without merges that build them, and absent from the
    /// training text: ignore_merges decides whether they are one token.
    /// </summary>
    public static readonly string[] WholeWordTokens = [" quixotic", " Zanzibar", " 東京都庁", "%%%%"];

    static readonly Lazy<(List<string> Vocab, List<(string, string)> Merges)> byteLevel = new(TrainByteLevel);
    static readonly Lazy<(List<string> Vocab, List<(string, string)> Merges)> sentencePiece = new(TrainSentencePiece);

    /// <summary>The tokenizer.json text of layout <paramref name="kind"/>.</summary>
    public static string Json(string kind) => kind switch
    {
        "gpt2" => ByteLevelFile(prefixSpace: false, llama3: false, qwen2: false),
        "gpt2-prefix-space" => ByteLevelFile(prefixSpace: true, llama3: false, qwen2: false),
        "llama3" => ByteLevelFile(prefixSpace: false, llama3: true, qwen2: false),
        "qwen2" => ByteLevelFile(prefixSpace: false, llama3: false, qwen2: true),
        "llama2" => SentencePieceFile(metaspace: false),
        "mistral" => SentencePieceFile(metaspace: true),
        _ => throw new ArgumentException($"unknown fixture kind '{kind}'"),
    };

    /// <summary>Writes layout <paramref name="kind"/> to <c>directory/tokenizer.json</c> and returns the path.</summary>
    public static string Write(string kind, string directory)
    {
        string path = Path.Combine(directory, "tokenizer.json");
        File.WriteAllText(path, Json(kind));
        return path;
    }

    static (List<string>, List<(string, string)>) TrainByteLevel()
    {
        var trainer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 2000 });
        trainer.AddDocument(MixedText.Generate(seed: 1, chars: 300_000));
        BpeTokenizer trained = trainer.Train();
        var vocab = trained.Vocab.Where(t => !trained.SpecialTokens.Contains(t)).ToList();
        return (vocab, trained.Merges.ToList());
    }

    static string ByteLevelFile(bool prefixSpace, bool llama3, bool qwen2)
    {
        var (baseVocab, merges) = byteLevel.Value;
        var vocab = baseVocab.ToList();
        if (llama3)
            foreach (string word in WholeWordTokens)
            {
                string symbols = ByteLevelAlphabet.ToSymbols(Encoding.UTF8.GetBytes(word));
                if (!vocab.Contains(symbols)) vocab.Add(symbols);
            }
        var added = new List<JsonObject>();
        void Add(string content, bool special = true, bool lstrip = false, bool rstrip = false, bool normalized = false, bool singleWord = false) =>
            added.Add(AddedToken(vocab.Count + added.Count, content, special, lstrip, rstrip, normalized, singleWord));
        if (llama3)
        {
            foreach (string t in new[] { "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                         "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>" })
                Add(t);
            for (int i = 3; i < 40; i++) Add($"<|reserved_special_token_{i}|>");
        }
        else if (qwen2)
        {
            Add("<|endoftext|>");
            Add("<|im_start|>");
            Add("<|im_end|>");
            Add("<tool_call>", special: false);
            Add("<mask>", lstrip: true);
            Add("<pad>", rstrip: true);
            Add("<word>", singleWord: true);
            Add("naïve", special: false, normalized: true);
        }
        else Add("<|endoftext|>");

        JsonNode preTokenizer = llama3 || qwen2
            ? new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = qwen2 ? Qwen2Pattern : Llama3Pattern },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    ByteLevel(prefixSpace: false, useRegex: false)),
            }
            : ByteLevel(prefixSpace, useRegex: true);
        JsonNode postProcessor = llama3
            ? new JsonObject
            {
                ["type"] = "Sequence",
                ["processors"] = new JsonArray(
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                    Template("<|begin_of_text|>", vocab.Count)),
            }
            : ByteLevel(prefixSpace, useRegex: true);
        var model = Model(vocab, merges, ignoreMerges: llama3, byteFallback: false, unk: null);
        return Serialize(added, qwen2 ? new JsonObject { ["type"] = "NFC" } : null, preTokenizer, postProcessor, ByteLevel(prefixSpace, useRegex: true), model);
    }

    // The patterns exactly as Llama-3's and Qwen2's files spell them.
    const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static JsonObject ByteLevel(bool prefixSpace, bool useRegex) => new()
    {
        ["type"] = "ByteLevel", ["add_prefix_space"] = prefixSpace, ["trim_offsets"] = true, ["use_regex"] = useRegex,
    };

    static JsonObject Template(string bos, int bosId) => new()
    {
        ["type"] = "TemplateProcessing",
        ["single"] = new JsonArray(
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = bos, ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
        ["pair"] = new JsonArray(
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = bos, ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = bos, ["type_id"] = 1 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }),
        ["special_tokens"] = new JsonObject
        {
            [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(bosId), ["tokens"] = new JsonArray(bos) },
        },
    };

    static JsonObject AddedToken(int id, string content, bool special, bool lstrip = false, bool rstrip = false, bool normalized = false, bool singleWord = false) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = singleWord, ["lstrip"] = lstrip, ["rstrip"] = rstrip,
        ["normalized"] = normalized, ["special"] = special,
    };

    static JsonObject Model(List<string> vocab, List<(string, string)> merges, bool ignoreMerges, bool byteFallback, string? unk)
    {
        var vocabObject = new JsonObject();
        for (int id = 0; id < vocab.Count; id++) vocabObject[vocab[id]] = id;
        return new JsonObject
        {
            ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = unk, ["continuing_subword_prefix"] = null,
            ["end_of_word_suffix"] = null, ["fuse_unk"] = unk is not null, ["byte_fallback"] = byteFallback,
            ["ignore_merges"] = ignoreMerges, ["vocab"] = vocabObject,
            ["merges"] = new JsonArray(merges.Select(m => (JsonNode)$"{m.Item1} {m.Item2}").ToArray()),
        };
    }

    static string Serialize(List<JsonObject> added, JsonNode? normalizer, JsonNode? preTokenizer, JsonNode? postProcessor, JsonNode? decoder, JsonObject model)
    {
        var root = new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null,
            ["added_tokens"] = new JsonArray(added.Select(a => (JsonNode)a).ToArray()),
            ["normalizer"] = normalizer, ["pre_tokenizer"] = preTokenizer, ["post_processor"] = postProcessor,
            ["decoder"] = decoder, ["model"] = model,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    // SentencePiece-style: every line is "▁" + text with spaces as "▁"; base pieces are characters seen at least
    // three times (the rest fall back to <0xNN> bytes); merges are picked greedily by pair frequency.
    static (List<string>, List<(string, string)>) TrainSentencePiece()
    {
        var lines = MixedText.Generate(seed: 2, chars: 60_000).Split('\n').Where(l => l.Length > 0)
            .Select(l => ("▁" + l.Replace(' ', '▁')).EnumerateRunes().Select(r => r.ToString()).ToList()).ToList();
        var vocab = new List<string> { "<unk>", "<s>", "</s>" };
        for (int b = 0; b < 256; b++) vocab.Add($"<0x{b:X2}>");
        var counts = lines.SelectMany(l => l).GroupBy(c => c).Where(g => g.Count() >= 3)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).ToList();
        var known = new HashSet<string>(vocab, StringComparer.Ordinal);
        foreach (string c in counts) if (known.Add(c)) vocab.Add(c);
        var merges = new List<(string, string)>();
        for (int step = 0; step < 700; step++)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var line in lines)
                for (int i = 0; i + 1 < line.Count; i++)
                    if (known.Contains(line[i]) && known.Contains(line[i + 1]))
                        pairs[(line[i], line[i + 1])] = pairs.GetValueOrDefault((line[i], line[i + 1])) + 1;
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1 + "\0" + p.Key.Item2, StringComparer.Ordinal).First().Key;
            if (pairs[best] < 2) break;
            string merged = best.Item1 + best.Item2;
            merges.Add(best);
            if (known.Add(merged)) vocab.Add(merged);
            foreach (var line in lines)
                for (int i = 0; i + 1 < line.Count; i++)
                    if (line[i] == best.Item1 && line[i + 1] == best.Item2)
                    {
                        line[i] = merged;
                        line.RemoveAt(i + 1);
                    }
        }
        return (vocab, merges);
    }

    static string SentencePieceFile(bool metaspace)
    {
        var (vocab, merges) = sentencePiece.Value;
        var added = new List<JsonObject> { AddedToken(0, "<unk>", true), AddedToken(1, "<s>", true), AddedToken(2, "</s>", true) };
        JsonNode? normalizer = metaspace ? null : new JsonObject
        {
            ["type"] = "Sequence",
            ["normalizers"] = new JsonArray(
                new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
        };
        JsonNode? preTokenizer = metaspace
            ? new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false }
            : null;
        var decoder = new JsonObject
        {
            ["type"] = "Sequence",
            ["decoders"] = new JsonArray(
                new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                new JsonObject { ["type"] = "ByteFallback" },
                new JsonObject { ["type"] = "Fuse" },
                new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
        };
        var model = Model(vocab, merges, ignoreMerges: false, byteFallback: true, unk: "<unk>");
        return Serialize(added, normalizer, preTokenizer, Template("<s>", 1), decoder, model);
    }
}

/// <summary>
/// Seeded mixed text of the kinds tokenizers meet: English prose, source code, Chinese and Japanese, emoji (skin
/// tones, ZWJ families, flags), combining marks, Cyrillic/Arabic/Hindi, whitespace runs and newlines (CRLF too),
/// digit runs, contractions in every case, letters beyond the BMP, random code points, and the special-token strings
/// of every layout (whole and broken). Always well-formed UTF-16.
/// </summary>
public static class MixedText
{
    static readonly string[] words =
    [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "with", "as", "was", "on", "be", "at", "by", "this",
        "King", "Richard", "Richardson", "extraordinary", "citizen", "hear", "speak", "before", "proceed", "further",
        "world", "hello", "model", "token", "language", "training", "naïve", "café", "über", "straße", "déjà",
    ];

    static readonly string[] snippets =
    [
        "public static int Add(int a, int b) => a + b;\n", "for (int i = 0; i < n; i++) {\n    sum += x[i];\n}\n",
        "def f(x):\n\treturn x ** 2  # square\n", "if (a != b && c >= 10) { return -1; }", "```python\nprint('hi')\n```\n",
        "<div class=\"x\">&amp;</div>", "SELECT * FROM t WHERE id = 42;", "x = [1, 2, 3]\r\ny = {'k': 'v'}\r\n",
        "我们今天去公园散步。", "世界你好！漢字", "東京は日本の首都です。", "한국어 텍스트", "Привет, мир!", "مرحبا بالعالم", "नमस्ते दुनिया",
        "😀👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️", "🏳️‍🌈👩🏽‍💻", "e\u0301 a\u0308 n\u0303\u0323 o\u0302\u0301", "nai\u0308ve cafe\u0301", "a𝐀b 𠀀! 𝟎1 𐍈",
        "   ", "\t\t", "\n\n\n", " \n ", "\r\n", "    indented\n", "\u3000\u2003\u00A0x", "trailing   ",
        "12345", "3.14159", "2024-06-01", "1,000,000", "٣٤٥", "½ Ⅻ", "007",
        "I'll", "they're", "We'VE", "IT'S", "don't", "'ll", "'S", "'Re", "'ſ", "'K", "O'Neil",
        "<|endoftext|>", "<|begin_of_text|>", "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>", "<|end_of_text|>",
        "<|im_start|>assistant\n", "<|im_end|>", "<s>", "</s>", "<unk>", "<0x41>", "<|endof", "<|im", "<tool_call>",
        " <mask> ", "x<mask>", "<pad>  y", "a <word> b", "a<word>b", "<|reserved_special_token_5|>",
    ];

    /// <summary>About <paramref name="chars"/> UTF-16 units of mixed text; the same for the same seed.</summary>
    public static string Generate(int seed, int chars)
    {
        var random = new Random(seed);
        var text = new StringBuilder(chars + 64);
        while (text.Length < chars)
        {
            int kind = random.Next(10);
            if (kind < 5)
            {
                // A sentence of prose.
                int n = random.Next(3, 15);
                for (int i = 0; i < n; i++)
                {
                    string w = words[random.Next(words.Length)];
                    if (i == 0 || random.Next(12) == 0) w = char.ToUpperInvariant(w[0]) + w[1..];
                    text.Append(i == 0 ? "" : " ").Append(w);
                }
                text.Append(random.Next(4) switch { 0 => ". ", 1 => ".\n", 2 => ", ", _ => "! " });
            }
            else if (kind < 9) text.Append(snippets[random.Next(snippets.Length)]).Append(random.Next(3) == 0 ? " " : "");
            else
            {
                int c;
                do c = random.Next(2) == 0 ? random.Next(0x20, 0x3000) : random.Next(0, 0x110000);
                while (c is >= 0xD800 and <= 0xDFFF);
                text.Append(char.ConvertFromUtf32(c));
            }
        }
        return text.ToString();
    }

    /// <summary>Documents of 0–3,000 units cut from one generated text, so that each starts and ends anywhere.</summary>
    public static IEnumerable<string> Documents(int seed, int totalChars)
    {
        string all = Generate(seed, totalChars);
        var random = new Random(seed + 1000);
        for (int at = 0; at < all.Length;)
        {
            int length = Math.Min(random.Next(0, 3000), all.Length - at);
            // Do not cut a surrogate pair: the documents stay well-formed.
            if (at + length < all.Length && char.IsLowSurrogate(all[at + length])) length++;
            yield return all.Substring(at, length);
            at += length;
        }
    }
}
