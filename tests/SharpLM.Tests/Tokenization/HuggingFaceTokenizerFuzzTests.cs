using System.Text;
using System.Text.Json.Nodes;
using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

/// <summary>
/// A damaged tokenizer.json must be refused with one line naming the file — never a KeyNotFoundException, an
/// IndexOutOfRangeException or a tokenizer that crashes later. Each of the layouts is mutated many ways.
/// </summary>
public class HuggingFaceTokenizerFuzzTests
{
    const int Mutations = 1200;

    [Fact]
    public void MutatedFilesLoadOrFailWithOneLineNamingTheFile()
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        var originals = HfFixtures.Kinds.ToDictionary(k => k, HfFixtures.Json);
        var random = new Random(2024);
        int refused = 0, loaded = 0;
        var kindsOfMutation = new Dictionary<string, int>();

        for (int i = 0; i < Mutations; i++)
        {
            string kind = HfFixtures.Kinds[i % HfFixtures.Kinds.Length];
            var (name, bytes) = Mutate(originals[kind], random);
            kindsOfMutation[name] = kindsOfMutation.GetValueOrDefault(name) + 1;
            File.WriteAllBytes(path, bytes);
            try
            {
                ITokenizer tokenizer = TokenizerFactory.Load(path);
                // What loads must also encode and decode without failing.
                int[] ids = tokenizer.Encode("Hello <s> world 123 東京 😀\n\n  x");
                tokenizer.Decode(ids);
                loaded++;
            }
            catch (InvalidInputException e)
            {
                refused++;
                Assert.True(e.Message.StartsWith($"{path}: ", StringComparison.Ordinal), $"{kind}/{name}: {e.Message}");
                Assert.False(e.Message.Contains('\n') || e.Message.Contains('\r'), $"{kind}/{name}: message is not one line: {e.Message}");
            }
            catch (Exception e)
            {
                Assert.Fail($"{kind}/{name}: {e.GetType().Name}: {e.Message}");
            }
        }
        // Most mutations break the file; some (a changed flag, a removed optional field) leave a valid one.
        Assert.True(refused > Mutations / 2, $"{refused} refused, {loaded} loaded: {string.Join(", ", kindsOfMutation)}");
    }

    static (string Name, byte[] Bytes) Mutate(string original, Random random)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(original);
        switch (random.Next(10))
        {
            case 0:
                return ("truncated", utf8[..random.Next(utf8.Length)]);
            case 1:
            {
                byte[] copy = (byte[])utf8.Clone();
                for (int k = random.Next(1, 4); k > 0; k--) copy[random.Next(copy.Length)] = (byte)random.Next(256);
                return ("bytes flipped", copy);
            }
        }
        JsonNode root = JsonNode.Parse(original)!;
        JsonObject model = root["model"]!.AsObject();
        JsonObject vocab = model["vocab"]!.AsObject();
        JsonArray merges = model["merges"]!.AsArray();
        JsonArray added = root["added_tokens"]!.AsArray();
        string name;
        switch (random.Next(8))
        {
            case 0:
            {
                // A wrong type anywhere along a path into the file.
                var (node, key) = RandomProperty(root, random);
                node[key] = WrongValue(random);
                name = $"wrong type at {key}";
                break;
            }
            case 1:
                merges.Insert(random.Next(merges.Count + 1), random.Next(2) == 0 ? "nosuch token" : $"{vocab.ElementAt(random.Next(vocab.Count)).Key} zzzunknown");
                name = "merge of unknown tokens";
                break;
            case 2:
            {
                var entries = vocab.ToList();
                vocab[entries[random.Next(entries.Count)].Key] = entries[random.Next(entries.Count)].Value!.GetValue<int>();
                name = "duplicate vocab id";
                break;
            }
            case 3:
            {
                var entries = vocab.ToList();
                vocab[entries[random.Next(entries.Count)].Key] = random.Next(3) switch { 0 => -1, 1 => 1_000_000, _ => int.MaxValue };
                name = "vocab id out of range";
                break;
            }
            case 4:
            {
                JsonNode token = added[random.Next(added.Count)]!;
                token["id"] = random.Next(4) switch { 0 => -5, 1 => 10_000_000, 2 => 0, _ => vocab.Count / 2 };
                name = "added token id";
                break;
            }
            case 5:
            {
                string[] fields = ["model", "normalizer", "pre_tokenizer", "post_processor", "decoder"];
                string field = fields[random.Next(fields.Length)];
                string[] types = ["Unigram", "WordPiece", "WordLevel", "BertPreTokenizer", "Lowercase", "NFKD", "Strip", "RobertaProcessing", "", "Sequence", "Split"];
                if (root[field] is JsonObject component) component["type"] = types[random.Next(types.Length)];
                else root[field] = new JsonObject { ["type"] = types[random.Next(types.Length)] };
                name = $"{field} type";
                break;
            }
            case 6:
            {
                var (node, key) = RandomProperty(root, random);
                node.Remove(key);
                name = $"removed {key}";
                break;
            }
            default:
            {
                // Merges written as pairs, with one of them broken.
                var pairs = new JsonArray(merges.Select(m => (JsonNode)new JsonArray(m!.GetValue<string>().Split(' ').Select(p => (JsonNode)p!).ToArray())).ToArray());
                if (pairs.Count > 0) pairs[random.Next(pairs.Count)] = random.Next(3) switch { 0 => new JsonArray("a"), 1 => new JsonArray("a", "b", "c"), _ => new JsonArray(1, 2) };
                model["merges"] = pairs;
                name = "merge pairs";
                break;
            }
        }
        return (name, Encoding.UTF8.GetBytes(root.ToJsonString()));
    }

    // A random property of a random object in the file, preferring the pipeline's small objects over the vocab.
    static (JsonObject Node, string Key) RandomProperty(JsonNode root, Random random)
    {
        JsonObject current = root.AsObject();
        while (true)
        {
            var keys = current.Select(p => p.Key).Where(k => current != root["model"]?["vocab"]).ToList();
            if (current == root["model"]?["vocab"]) keys = current.Take(50).Select(p => p.Key).ToList();
            if (keys.Count == 0) return (current, "type");
            string key = keys[random.Next(keys.Count)];
            JsonNode? child = current[key];
            JsonObject? next = child switch
            {
                JsonObject o when o.Count > 0 => o,
                JsonArray a when a.Count > 0 && a[random.Next(Math.Min(a.Count, 20))] is JsonObject o => o,
                _ => null,
            };
            if (next is null || random.Next(3) == 0) return (current, key);
            current = next;
        }
    }

    static JsonNode? WrongValue(Random random) => random.Next(7) switch
    {
        0 => null,
        1 => JsonValue.Create(true),
        2 => JsonValue.Create(-3),
        3 => JsonValue.Create("x"),
        4 => new JsonArray(1, "a"),
        5 => new JsonObject { ["type"] = 7 },
        _ => JsonValue.Create(1.5),
    };
}
