using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft;
using SharpLM.Cli.Commands;
using SharpLM.Modeling;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;

namespace SharpLM.Tests.Adaptation.Peft;

public class PeftMethodsTests
{
    [Fact]
    public void Each_registered_method_recognises_exactly_its_own_parameters_and_no_other_method_claims_them()
    {
        foreach (var registration in PeftMethods.All)
        {
            var model = Base();
            Assert.False(PeftMethod.IsAdapted(model));
            var run = new SftRunOptions { Base = "base", Data = "d", Format = "tasks", Method = registration.Name, Prompt = new() { Length = 4 } }; // the tiny base has 16 positions
            var method = registration.Apply(model, run);
            Assert.Equal(registration.Name, method.Method);
            Assert.True(PeftMethod.IsAdapted(model), $"{registration.Name}: IsAdapted missed it");
            Assert.All(method.TrainableParameters, p => Assert.Equal(
                new[] { registration.Name }, PeftMethods.All.Where(m => m.OwnsParameter(p.Name)).Select(m => m.Name)));
            Assert.All(method.BaseParameters, p => Assert.DoesNotContain(PeftMethods.All, m => m.OwnsParameter(p.Name)));
        }
    }

    [Fact]
    public void Sft_offers_full_and_every_registered_method_with_its_flags_at_the_options_defaults()
    {
        Assert.Equal(new[] { "full", "lora", "adapter", "prefix", "prompt" }, SftRunOptions.Methods);
        var command = SftCommand.Create();
        var method = command.Options.Single(o => o.Name == "--method");
        Assert.All(SftRunOptions.Methods, m => Assert.Contains(m, method.Description));
        foreach (var registration in PeftMethods.All)
            foreach (var flag in registration.Flags)
                Assert.Contains(command.Options, o => o.Name == flag.Name);
        // The defaults are the records' own: a flag left out changes nothing.
        var defaults = new SftRunOptions { Base = "b", Data = "d", Format = "f" };
        foreach (var registration in PeftMethods.All)
        {
            object options = registration.Flags.Aggregate(registration.DefaultOptions, (o, f) => f.Set(o, f.DefaultValue));
            var run = registration.WithOptions(defaults, options, registration.FlagSource);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(defaults, SharpLM.Runtime.Json.Options), System.Text.Json.JsonSerializer.Serialize(run, SharpLM.Runtime.Json.Options));
        }
    }

    [Fact]
    public void Flag_values_out_of_range_are_refused_naming_the_flags()
    {
        var run = new SftRunOptions { Base = "b", Data = "d", Format = "f" };
        var lora = PeftMethods.Lora;
        var e = Assert.Throws<InvalidInputException>(() => lora.WithOptions(run, lora.Flags.Single(f => f.Name == "--lora-r").Set(lora.DefaultOptions, 0), lora.FlagSource));
        Assert.StartsWith("--lora-*: rank", e.Message);
        var adapter = PeftMethods.Adapter;
        e = Assert.Throws<InvalidInputException>(() => adapter.WithOptions(run, adapter.Flags[0].Set(adapter.DefaultOptions, 0), adapter.FlagSource));
        Assert.StartsWith("--adapter-size:", e.Message);
    }

    [Fact]
    public void An_adapter_config_naming_an_unregistered_method_is_refused_listing_the_registered_ones()
    {
        using var dir = new TempDirectory();
        var model = Base();
        var method = PeftMethods.Adapter.Apply(model, new SftRunOptions { Base = "b", Data = "d", Format = "f" });
        method.Save(dir.Path);
        string path = Path.Combine(dir.Path, AdapterDirectory.ConfigFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"method\": \"adapter\"", "\"method\": \"ia3\""));
        var e = Assert.Throws<InvalidInputException>(() => PeftMethod.Load(dir.Path, Base()));
        Assert.Contains("'ia3'", e.Message);
        Assert.Contains(PeftMethods.Names, e.Message);
    }
}
