using System.CommandLine;
using SharpLM.Data.Catalog;

namespace SharpLM.Cli;

/// <summary>
/// Turns failures into what a user can act on: one line naming the file or option and the problem, exit code 1
/// (2 for a command line that does not parse). The stack trace appears only with --verbose.
/// </summary>
public static class CliErrors
{
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces for errors.", Recursive = true };

    /// <summary>A folder laid out as the data manifest (a copy of shared/data), searched before the cache and the network.</summary>
    public static readonly Option<string?> Mirror = new("--mirror") { Description = "A folder holding the data sets (a copy of shared/data): searched before the cache and the network. Also SHARPLM_MIRROR.", Recursive = true };

    public static int Run(RootCommand root, string[] args)
    {
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"error: {parsed.Errors[0].Message} (see --help)");
            return 2;
        }
        try
        {
            if (parsed.GetValue(Mirror) is string mirror) DataStore.Default = DataStore.FromEnvironment(mirror);
            int code = parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            SharpLM.Distributed.Mpi.Shutdown();
            return code;
        }
        catch (Exception e)
        {
            Exception shown = e is AggregateException { InnerException: not null } a ? a.InnerException! : e;
            // libtorch errors carry a C++ backtrace after the first line: keep the first line only.
            string first = InvalidInputException.FirstLine(shown);
            string message = shown is InvalidInputException ? first : $"{shown.GetType().Name}: {first}";
            // Under mpirun every rank may fail: say which. Exiting without MPI_Finalize makes mpirun stop the other ranks.
            string rank = SharpLM.Distributed.Mpi.LaunchedRank is int r ? $"rank {r}: " : "";
            Console.Error.WriteLine($"error: {rank}{message}");
            if (parsed.GetValue(Verbose)) Console.Error.WriteLine(shown);
            return shown is OperationCanceledException ? 130 : 1;
        }
    }
}
