using System.Text.Json.Nodes;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;

namespace SharpLM.Tests.Adaptation.Peft;

public class AdapterDirectoryTests
{
    [Fact]
    public void A_corrupted_weight_file_is_named()
    {
        using var dir = new TempDirectory();
        LoraTuning.Apply(Base(), new LoraOptions { Rank = 2 }).Save(dir.Path);
        string weights = dir.File(AdapterDirectory.WeightsFile);
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, Base()));
        Assert.StartsWith(weights, e.Message);
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void A_base_of_another_shape_is_refused_before_any_weight_is_read()
    {
        using var dir = new TempDirectory();
        LoraTuning.Apply(Base(), new LoraOptions { Rank = 2 }).Save(dir.Path);
        var other = Base(config: Config() with { NEmbd = 64 });
        var e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, other));
        Assert.Contains("different model configuration", e.Message);
        Assert.False(PeftMethod.IsAdapted(other));
    }

    [Fact]
    public void The_config_records_the_method_its_options_and_the_base()
    {
        using var dir = new TempDirectory();
        var lora = LoraTuning.Apply(Base(), new LoraOptions { Rank = 2, Alpha = 6, TargetModules = new[] { "q", "v" } }, baseCheckpoint: "runs/base");
        lora.Save(dir.Path);
        var config = AdapterDirectory.ReadConfig(dir.Path);
        Assert.Equal("lora", config.Method);
        Assert.Equal(lora.BaseSha256, config.BaseSha256);
        Assert.Equal("runs/base", config.BaseCheckpoint);
        Assert.Equal(new[] { "q", "v" }, config.Lora!.TargetModules);
        Assert.Equal(3.0, config.Lora.Scale);
        Assert.Equal(lora.TrainableParameterCount, config.TrainableParameters);
        Assert.Null(config.Adapter);
    }

    static void Tamper(string dir, Action<JsonObject> change)
    {
        string path = Path.Combine(dir, AdapterDirectory.ConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    [Fact]
    public void A_rank_the_weight_file_cannot_hold_is_refused_before_allocation()
    {
        using var dir = new TempDirectory();
        LoraTuning.Apply(Base(), new LoraOptions { Rank = 2 }).Save(dir.Path);
        Tamper(dir.Path, c => c["lora"]!["rank"] = 10_000_000);
        var e = Assert.Throws<InvalidInputException>(() => AdapterDirectory.ReadConfig(dir.Path));
        Assert.StartsWith($"{dir.File(AdapterDirectory.ConfigFile)}: lora.rank 10000000: declares at least", e.Message);
        var model = Base();
        Assert.Equal(e.Message, Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, model)).Message);
        Assert.False(PeftMethod.IsAdapted(model));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../x.bin")]
    public void A_weight_file_outside_the_adapter_directory_is_refused(string name)
    {
        using var dir = new TempDirectory();
        LoraTuning.Apply(Base(), new LoraOptions { Rank = 2 }).Save(dir.Path);
        Tamper(dir.Path, c => c["weights_file"] = name);
        var e = Assert.Throws<InvalidInputException>(() => AdapterDirectory.ReadConfig(dir.Path));
        Assert.Equal($"{dir.File(AdapterDirectory.ConfigFile)}: weights_file: '{name}' must be a bare file name in the same directory", e.Message);
    }

    [Fact]
    public void A_directory_without_an_adapter_is_named()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, Base()));
        Assert.Contains(AdapterDirectory.ConfigFile, e.Message);
    }

    [Fact]
    public void Applying_a_second_method_to_an_adapted_model_is_refused()
    {
        var model = Base();
        LoraTuning.Apply(model, new LoraOptions { Rank = 2 });
        Assert.Throws<InvalidOperationException>(() => LoraTuning.Apply(model, new LoraOptions { Rank = 2 }));
    }
}
