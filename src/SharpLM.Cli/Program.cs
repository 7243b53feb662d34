using System.CommandLine;
using SharpLM.Cli;
using SharpLM.Cli.Commands;

// `sharplm`: the command line over the SharpLM library. Each verb lives in Commands/ and only parses options,
// calls the library and prints; errors become one line on stderr and a non-zero exit code.
var root = new RootCommand("SharpLM: pre-train, sample and evaluate language models in C#.")
{
    TokenizerCommand.Create(),
    DataCommand.Create(),
    PretrainCommand.Create(),
    MpiCommand.Create(),
    SampleCommand.Create(),
    EvalCommand.Create(),
    NGramCommand.Create(),
    ExperimentCommand.Create(),
    SftCommand.Create(),
    SftCommand.CreateChild(),
    RewardModelCommand.Create(),
    AlignCommand.Create(),
    LoraCommand.Create(),
    ConvertCommand.Create(),
    QuantizeCommand.Create(),
    ChatCommand.Create(),
    ServeCommand.Create(),
    RagCommand.Create(),
    PromptCommand.Create(),
    AgentCommand.Create(),
    McpCommand.Create(),
    SpeedrunCommand.Create(),
    PlanCommand.Create(),
};
root.Options.Add(CliErrors.Verbose);
root.Options.Add(CliErrors.Mirror);
return CliErrors.Run(root, args);
