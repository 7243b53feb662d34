using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Adaptation.Peft.Prompt;
using SharpLM.Modeling;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Peft.Lora;

public class LoraSetTests
{
    /// <summary>A LoRA adapter of <see cref="Base"/>(seed 0) with non-zero B (a fresh one would change nothing), saved in <paramref name="dir"/>.</summary>
    internal static void SaveAdapter(string dir, int seed, params string[] targets)
    {
        var lora = LoraTuning.Apply(Base(), new LoraOptions { Rank = 4, Alpha = 8, TargetModules = targets });
        manual_seed(seed);
        using (no_grad())
            foreach (var (_, p) in lora.TrainableParameters) p.normal_(0, 0.2);
        lora.Save(dir);
    }

    [Fact]
    public void Each_row_of_a_mixed_batch_gets_the_logits_of_the_base_with_its_adapter_alone()
    {
        using var dir = new TempDirectory();
        // Different targets on purpose: whole layers, q/v row ranges of the fused projection, the MLP.
        SaveAdapter(dir.File("a"), 1, "attn.c_attn", "attn.c_proj");
        SaveAdapter(dir.File("b"), 2, "q", "v", "mlp.c_fc");
        var (x, _) = Batch();
        var alone = new[] { "a", "b" }.Select(name =>
        {
            var model = Base();
            PeftMethod.Load(dir.File(name), model);
            return Logits(model, x);
        }).ToArray();
        var plain = Logits(Base(), x);

        var served = Base();
        var set = LoraSet.Attach(served, [dir.File("a"), dir.File("b")]);
        Assert.Equal(2, set.Count);
        Assert.True(PeftMethod.IsAdapted(served));
        // Four rows: adapter b, the base, adapter a, adapter b.
        int[] route = [1, -1, 0, 1];
        set.Route(route, CPU);
        var mixed = Logits(served, x);
        for (int row = 0; row < route.Length; row++)
        {
            var expected = route[row] < 0 ? plain : alone[route[row]];
            Assert.True(MaxAbsDiff(mixed[row], expected[row]) < 1e-5, $"row {row} (adapter {route[row]}): {MaxAbsDiff(mixed[row], expected[row])}");
        }
        Assert.True(MaxAbsDiff(alone[0], plain) > 1e-2 && MaxAbsDiff(alone[1], plain) > 1e-2, "each adapter changes the logits");

        set.RouteAll(0);
        Assert.True(MaxAbsDiff(Logits(served, x), alone[0]) < 1e-5);
        set.RouteAll(-1);
        Assert.True(Logits(served, x).Equals(plain), "routed to no adapter, the base is computed bit for bit");
    }

    [Fact]
    public void Only_lora_adapters_of_the_same_base_join_a_set()
    {
        using var dir = new TempDirectory();
        SaveAdapter(dir.File("lora"), 1, "attn.c_attn");
        PromptTuning.Apply(Base(), new PromptOptions { Length = 3 }).Save(dir.File("prompt"));
        var notLora = Assert.Throws<InvalidInputException>(() => LoraSet.Attach(Base(), [dir.File("lora"), dir.File("prompt")]));
        Assert.Contains(Path.Combine(dir.File("prompt"), "adapter_config.json"), notLora.Message);
        Assert.Contains("only LoRA adapters", notLora.Message);

        var otherBase = Assert.Throws<InvalidInputException>(() => LoraSet.Attach(Base(seed: 7), [dir.File("lora")]));
        Assert.Contains("sha256", otherBase.Message);
    }
}
