using System.CommandLine;
using System.Globalization;
using SharpLM.Distributed;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm mpi check`: is MPI working across these ranks (run it under mpirun, on one host or many)?</summary>
public static class MpiCommand
{
    public static Command Create()
    {
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated float32 counts per rank to check and time.", DefaultValueFactory = _ => "1024,1048576,16777216" };
        var check = new Command("check", "Check all-reduce, reduce-scatter and all-gather exactly on every rank and time them (mpirun -np N sharplm mpi check). Exit code 1 when a rank saw a wrong value.") { sizes };
        check.SetAction(parse =>
        {
            var counts = parse.GetValue(sizes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new InvalidInputException($"--sizes: '{s}' is not a positive count")).ToList();
            using var mpi = Mpi.Start();
            var results = MpiCheck.Run(mpi, counts);
            bool ok = results.All(r => r.Correct);
            // Every rank's verdict reaches rank 0: a sum of failures.
            Span<double> failures = [ok ? 0 : 1];
            mpi.AllReduceSum(failures);
            if (mpi.Rank == 0)
            {
                Console.WriteLine($"MPI: {mpi.Size} ranks{(Mpi.Launched ? "" : " (not started by mpirun)")}");
                Console.WriteLine("| collective | floats per rank | correct on every rank | ms per call (rank 0) | bus bandwidth GB/s |");
                Console.WriteLine("|---|---|---|---|---|");
                foreach (var r in results)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Collective} | {r.Elements:N0} | {(failures[0] == 0 ? "yes" : "see ranks")} | {r.MillisecondsPerCall:F3} | {r.BusBandwidthGBps:F2} |"));
            }
            if (!ok) Console.Error.WriteLine($"rank {mpi.Rank}: wrong values in {string.Join(", ", results.Where(r => !r.Correct).Select(r => $"{r.Collective} × {r.Elements}"))}");
            return failures[0] == 0 ? 0 : 1;
        });
        return new Command("mpi", "MPI across processes and hosts (OpenMPI): check the collectives data parallelism uses, and tensor and pipeline parallelism against one process.") { check, MpiParallelCommand.Create() };
    }
}
