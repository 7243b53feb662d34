using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Modeling;
using SharpLM.Training;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Adaptation.Peft.Lora;

public class LoraTuningTests : PeftMethodContract
{
    static readonly LoraOptions Options = new() { Rank = 4, Alpha = 8, TargetModules = new[] { "attn.c_attn", "attn.c_proj", "mlp.c_fc" } };

    protected override PeftMethod Apply(Gpt model) => LoraTuning.Apply(model, Options);

    protected override long ExpectedTrainable(ModelConfig c)
    {
        long r = Options.Rank, d = c.NEmbd, qkv = (c.NHead + 2 * c.KvHeads) * c.HeadDim, hidden = c.MlpRatio * d;
        return c.NLayer * (r * d + qkv * r + r * d + d * r + r * d + hidden * r);
    }

    [Fact]
    public void A_fresh_adapter_leaves_the_logits_bit_identical()
    {
        var model = Base();
        var (x, _) = Batch();
        var before = Logits(model, x);
        LoraTuning.Apply(model, Options);
        Assert.True(before.Equals(Logits(model, x)));
    }

    [Fact]
    public void Merged_logits_match_the_adapter_and_unmerging_restores_the_base_bit_for_bit()
    {
        var model = Base();
        var baseWeights = Snapshot(model);
        var lora = LoraTuning.Apply(model, Options with { Dropout = 0.1 });
        Train(lora, steps: 5);
        var (x, _) = Batch();
        var adapted = Logits(model, x);

        lora.Merge();
        Assert.True(lora.IsMerged);
        Assert.True(MaxAbsDiff(adapted, Logits(model, x)) <= 1e-5, $"merged logits differ by {MaxAbsDiff(adapted, Logits(model, x))}");
        Assert.False(baseWeights["h.0.attn.c_attn.weight"].Equals(model.named_parameters().First(p => p.name == "h.0.attn.c_attn.weight").parameter.detach()));

        lora.Unmerge();
        AssertBitIdentical(baseWeights, model, "base weight after unmerge");
        Assert.True(adapted.Equals(Logits(model, x)));
    }

    [Fact]
    public void The_exported_merged_model_is_a_plain_checkpointable_model_with_the_adapted_logits()
    {
        using var dir = new TempDirectory();
        var model = Base();
        var lora = LoraTuning.Apply(model, Options);
        Train(lora, steps: 5);
        var (x, _) = Batch();
        var adapted = Logits(model, x);

        var merged = lora.ExportMerged();
        Assert.False(lora.IsMerged);
        Assert.False(PeftMethod.IsAdapted(merged));
        Assert.Equal(model.ParameterCount - lora.TrainableParameterCount, merged.ParameterCount);
        Assert.True(MaxAbsDiff(adapted, Logits(merged, x)) <= 1e-5);

        Checkpoint.Save(dir.Path, merged, null, new CheckpointManifest { Step = 0, Model = merged.Config, ModelFile = "", ModelSha256 = "" });
        var (reloaded, _) = Checkpoint.LoadModel(dir.Path, CPU);
        reloaded.eval();
        Assert.True(Logits((Gpt)reloaded, x).Equals(Logits(merged, x)));
    }

    [Fact]
    public void Target_patterns_select_the_named_layers()
    {
        string[] Paths(params string[] patterns) => LoraTuning.Apply(Base(), Options with { TargetModules = patterns }).TargetPaths.ToArray();

        Assert.Equal(new[] { "h.0.attn.q", "h.0.attn.v", "h.1.attn.q", "h.1.attn.v" }, Paths("q", "v"));
        Assert.Equal(new[] { "h.0.attn.c_proj", "h.1.attn.c_proj" }, Paths("attn.c_proj"));
        Assert.Equal(new[] { "h.0.attn.c_proj", "h.0.mlp.c_proj", "h.1.attn.c_proj", "h.1.mlp.c_proj" }, Paths("c_proj"));
        Assert.Equal(new[] { "h.0.mlp.c_fc", "h.0.mlp.c_proj", "h.1.mlp.c_fc", "h.1.mlp.c_proj" }, Paths("*.mlp.*"));
        Assert.Equal(new[] { "h.1.attn.k" }, Paths(@"re:h\.1\.attn\.k"));
        Assert.Equal(new[] { "lm_head" }, Paths("lm_head"));

        Assert.Contains("'attn.nothing'", Assert.Throws<InvalidInputException>(() => Paths("attn.nothing")).Message);
        Assert.Contains("both", Assert.Throws<InvalidInputException>(() => Paths("c_attn", "q")).Message);
    }

    [Fact]
    public void A_query_only_adapter_changes_only_the_query_rows_of_the_fused_projection()
    {
        var model = Base(config: Config("rope", kvHeads: 1));
        var baseWeights = Snapshot(model);
        var lora = LoraTuning.Apply(model, Options with { TargetModules = new[] { "q" } });
        Train(lora, steps: 4);
        lora.Merge();
        var merged = model.named_parameters().First(p => p.name == "h.0.attn.c_attn.weight").parameter.detach();
        var original = baseWeights["h.0.attn.c_attn.weight"];
        long q = model.Config.NEmbd;
        Assert.False(merged[..(int)q].Equals(original[..(int)q]));
        Assert.True(merged[(int)q..].Equals(original[(int)q..]));
    }

    [Fact]
    public void The_adapter_file_is_under_five_percent_of_the_baby_checkpoint()
    {
        using var dir = new TempDirectory();
        var baby = new ModelConfig(); // shakespeare-char's size: 4 layers, 4 heads, 128 dims, context 64, 65 tokens
        var model = Base(config: baby);
        Assert.InRange(model.ParameterCount, 700_000, 900_000);
        Checkpoint.Save(Path.Combine(dir.Path, "base"), model, null, new CheckpointManifest { Step = 0, Model = baby, ModelFile = "", ModelSha256 = "" });
        var lora = LoraTuning.Apply(model, new LoraOptions { Rank = 4, TargetModules = new[] { "attn.c_attn", "attn.c_proj" } });
        lora.Save(Path.Combine(dir.Path, "adapter"));

        long baseBytes = new FileInfo(Path.Combine(dir.Path, "base", "model-000000.bin")).Length;
        long adapterBytes = Directory.EnumerateFiles(Path.Combine(dir.Path, "adapter")).Sum(f => new FileInfo(f).Length);
        Assert.True(adapterBytes < 0.05 * baseBytes, $"adapter {adapterBytes} bytes vs base {baseBytes}");
    }

    [Fact]
    public void Saving_while_merged_is_refused()
    {
        using var dir = new TempDirectory();
        var lora = LoraTuning.Apply(Base(), Options);
        lora.Merge();
        Assert.Throws<InvalidOperationException>(() => lora.Save(dir.Path));
    }
}
