using System.Text.Json;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Adapter;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Adaptation.Peft.Prefix;
using SharpLM.Adaptation.Peft.Prompt;
using SharpLM.Cli;
using SharpLM.Runtime;
using SharpLM.Tests.Cli;

namespace SharpLM.Tests.Adaptation.InstructionTuning;

public class SftOptionsFileTests
{
    // Every block away from its defaults, with numbers that a decimal round trip would lose.
    static SftRunOptions Unusual(string baseDir) => new()
    {
        Base = baseDir, Data = "synthetic:3", Format = "tasks", Method = "lora", EvalLimit = 5,
        Suite = new SyntheticSuiteOptions { Seed = 3, TrainPerTask = 8, TestPerTask = 2, StyledReplies = 0.25 },
        Lora = new LoraOptions { Rank = 3, Alpha = 1.0 / 3, Dropout = 0.1, LoraPlusLrRatio = 16, TargetModules = ["q", "v", "mlp.c_proj"] },
        Adapter = new AdapterOptions { BottleneckSize = 5, Activation = "relu", InitStd = 0.013 },
        Prefix = new PrefixOptions { Length = 3, Reparameterize = false, HiddenSize = 7 },
        Prompt = new PromptOptions { Length = 4, Init = "text", InitTokenIds = [5, 6] },
        Training = new SftOptions { MaxIters = 2, BatchSize = 4, LearningRate = 0.1 + 0.2, MinLr = 1e-5, EvalInterval = 1, Seed = 9, Threads = 1, WarmupIters = 1, GradClip = 0.5 },
    };

    [Fact]
    public void An_options_file_carries_every_field_bit_for_bit()
    {
        using var dir = new TempDirectory();
        var options = Unusual("base");
        string file = dir.File(SftRunOptions.FileName);
        options.Write(file);
        var read = SftRunOptions.Read(file);
        Assert.Equal(JsonSerializer.Serialize(options, Json.Options), JsonSerializer.Serialize(read, Json.Options));
        Assert.Equal(0.1 + 0.2, read.Training.LearningRate);
        Assert.Equal(1.0 / 3, read.Lora.Alpha);
    }

    [Fact]
    public void An_options_file_with_a_setting_out_of_range_is_refused_naming_the_file_and_field()
    {
        using var dir = new TempDirectory();
        string file = dir.File(SftRunOptions.FileName);
        Unusual("base").Write(file);
        File.WriteAllText(file, File.ReadAllText(file).Replace("\"bottleneck_size\": 5", "\"bottleneck_size\": 0"));
        var e = Assert.Throws<InvalidInputException>(() => SftRunOptions.Read(file));
        Assert.Contains(file, e.Message);
        Assert.Contains("bottleneck_size", e.Message);
    }

    [Fact]
    public void The_sft_child_process_on_an_options_file_trains_the_same_adapter_as_an_in_process_run()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        var options = Unusual(baseDir);
        SftRun.Run(options, dir.File("in-process"));

        Directory.CreateDirectory(dir.File("child"));
        string file = Path.Combine(dir.File("child"), SftRunOptions.FileName);
        options.Write(file);
        var result = CliProcess.Run([.. ChildProcessSft.Arguments(file, dir.File("child"))]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.File("in-process"), AdapterDirectory.WeightsFile)),
            File.ReadAllBytes(Path.Combine(dir.File("child"), AdapterDirectory.WeightsFile)));
        var inProcess = Json.ReadFile<SftRunSummary>(Path.Combine(dir.File("in-process"), SftRun.SummaryFile));
        var child = Json.ReadFile<SftRunSummary>(Path.Combine(dir.File("child"), SftRun.SummaryFile));
        Assert.Equal(inProcess.Training.FinalExactMatch, child.Training.FinalExactMatch);
        Assert.Equal(inProcess.TrainExamples, child.TrainExamples);
    }
}
