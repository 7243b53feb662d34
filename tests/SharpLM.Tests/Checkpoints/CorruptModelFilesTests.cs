using System.Text;
using System.Text.Json.Nodes;
using SharpLM.Adaptation;
using SharpLM.Checkpoints;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using SharpLM.Training;

namespace SharpLM.Tests.Checkpoints;

/// <summary>
/// Model folders from strangers: every way of damaging SharpLM's own run files (checkpoint.json, the weights, the
/// tokenizer) and a Hugging Face folder's config.json must end in a one-line error naming the file — never another
/// exception, and never an allocation the size of what a forged field declares.
/// </summary>
public class CorruptModelFilesTests
{
    static readonly ModelConfig Llama = new()
    {
        VocabSize = 40, BlockSize = 32, NLayer = 2, NHead = 4, NKvHead = 2, NEmbd = 32, Norm = "rmsnorm", Activation = "swiglu",
        PositionEncoding = "rope", Bias = false, TieEmbeddings = false,
    };

    /// <summary>Values a forged field may hold: out of range, of the wrong type, absurdly large.</summary>
    static readonly JsonNode?[] Hostile =
    [
        null, -1, 0, 1, 3, 7, 1_000_000, 2_147_483_647, 9_007_199_254_740_993, 1e300, -1e-9, 0.5, "", "llama", "../../etc/passwd",
        true, false, new JsonArray(), new JsonArray(1, 2), new JsonObject(), new JsonObject { ["rope_type"] = "llama3", ["factor"] = -4 },
    ];

    /// <summary>Loads the mutated folder; returns whether it was refused (an error naming <paramref name="where"/>, on one line).</summary>
    static bool Refused(Action load, string where)
    {
        try
        {
            load();
            return false;
        }
        catch (InvalidInputException e)
        {
            Assert.Contains(where, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            return true;
        }
    }

    /// <summary>A JSON text damaged one of several ways: a field set to a hostile value, removed, or its bytes cut or flipped.</summary>
    static string Mutate(string json, Random rng, Func<JsonObject, JsonObject> pick)
    {
        switch (rng.Next(4))
        {
            case 0:
            case 1:
            {
                var root = JsonNode.Parse(json)!.AsObject();
                var target = pick(root);
                string key = target.Select(p => p.Key).ElementAt(rng.Next(target.Count));
                if (rng.Next(5) == 0) target.Remove(key);
                else target[key] = Hostile[rng.Next(Hostile.Length)]?.DeepClone();
                return root.ToJsonString();
            }
            case 2: return json[..rng.Next(json.Length)];
            default:
            {
                var chars = json.ToCharArray();
                for (int k = 0; k < 1 + rng.Next(3); k++) chars[rng.Next(chars.Length)] = "{}[]\",:0123456789-eE .x\\"[rng.Next(24)];
                return new string(chars);
            }
        }
    }

    [Fact]
    public void A_thousand_damaged_sharplm_runs_each_load_or_give_a_one_line_error_naming_the_file()
    {
        using var dir = new TempDirectory();
        string good = dir.File("good");
        Directory.CreateDirectory(good);
        var model = new Gpt(Llama);
        Checkpoint.Save(good, model, null, new CheckpointManifest { Step = 0, Model = model.Config, ModelFile = "", ModelSha256 = "" });
        CharTokenizer.FromText("abcdefghijklmnopqrstuvwxyz .,;:!?'\"()-\n0123456789").Save(good);
        string manifest = File.ReadAllText(Path.Combine(good, Checkpoint.ManifestFile)), tokenizer = File.ReadAllText(TokenizerFile.PathIn(good));
        string weightsName = Directory.GetFiles(good).Select(Path.GetFileName).Single(f => f != Checkpoint.ManifestFile && f != TokenizerFile.FileName)!;
        byte[] weights = File.ReadAllBytes(Path.Combine(good, weightsName));
        var rng = new Random(17);
        int refused = 0;
        for (int i = 0; i < 1000; i++)
        {
            string run = dir.File($"bad{i}");
            Directory.CreateDirectory(run);
            string m = manifest, t = tokenizer;
            byte[] w = weights;
            string damaged;
            switch (i % 3)
            {
                case 0: // checkpoint.json: a field of the manifest or of its model config
                    m = Mutate(manifest, rng, root => rng.Next(2) == 0 && root["model"] is JsonObject config ? config : root);
                    damaged = Checkpoint.ManifestFile;
                    break;
                case 1: // the weights: truncated or bytes changed
                    w = (byte[])weights.Clone();
                    if (rng.Next(2) == 0) w = w[..rng.Next(w.Length)];
                    else w[rng.Next(w.Length)] ^= (byte)(1 + rng.Next(255));
                    damaged = weightsName;
                    break;
                default:
                    t = Mutate(tokenizer, rng, root => root);
                    damaged = TokenizerFile.FileName;
                    break;
            }
            File.WriteAllText(Path.Combine(run, Checkpoint.ManifestFile), m);
            File.WriteAllBytes(Path.Combine(run, weightsName), w);
            File.WriteAllText(TokenizerFile.PathIn(run), t);
            if (Refused(() => ModelBundle.Load(run), run)) refused++;
            else Assert.True(damaged != weightsName, $"damaged weights loaded (case {i})");
            Directory.Delete(run, recursive: true);
        }
        Assert.True(refused > 600, $"only {refused} of 1,000 damaged runs were refused");
    }

    [Fact]
    public void A_thousand_damaged_hugging_face_configs_each_load_or_give_a_one_line_error_naming_the_file()
    {
        using var dir = new TempDirectory();
        string good = dir.File("good");
        HfCheckpoint.Save(new Gpt(Llama with { RopeScaling = new RopeScaling { Factor = 4, OriginalContext = 16 } }), good);
        string config = File.ReadAllText(Path.Combine(good, HfCheckpoint.ConfigFile));
        var rng = new Random(23);
        int refused = 0;
        for (int i = 0; i < 1000; i++)
        {
            File.WriteAllText(Path.Combine(good, HfCheckpoint.ConfigFile),
                Mutate(config, rng, root => rng.Next(4) == 0 && root["rope_scaling"] is JsonObject scaling ? scaling : root));
            if (Refused(() => HfCheckpoint.Load(good).Dispose(), good)) refused++;
        }
        Assert.True(refused > 500, $"only {refused} of 1,000 damaged configs were refused");
    }
}
