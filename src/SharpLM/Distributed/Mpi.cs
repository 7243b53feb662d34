using System.Runtime.InteropServices;

namespace SharpLM.Distributed;

/// <summary>
/// MPI as the distributed engine (as Horovod and DeepSpeed's MPI launcher use it): the few collectives data
/// parallelism and ZeRO need, called straight into the system's OpenMPI (<c>libmpi.so.40</c>, Debian's
/// <c>openmpi-bin</c>). A thin P/Invoke layer, not a binding of the whole standard. MPI.NET speaks only the MS-MPI
/// ABI; OpenMPI's handles are the addresses of exported globals (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>,
/// <c>ompi_mpi_op_sum</c>), not integers, so they are looked up once with <see cref="NativeLibrary.GetExport"/>.
/// One instance per process: <see cref="Start"/> calls MPI_Init, <see cref="Dispose"/> MPI_Finalize.
/// </summary>
public sealed unsafe class Mpi : IDisposable
{
    const string Library = "libmpi.so.40";
    readonly nint world, floatType, doubleType, sum;
    bool finalized;

    Mpi()
    {
        nint lib = NativeLibrary.Load(Library);
        world = NativeLibrary.GetExport(lib, "ompi_mpi_comm_world");
        floatType = NativeLibrary.GetExport(lib, "ompi_mpi_float");
        doubleType = NativeLibrary.GetExport(lib, "ompi_mpi_double");
        sum = NativeLibrary.GetExport(lib, "ompi_mpi_op_sum");
        Check(MPI_Init(null, null), "MPI_Init");
        int rank, size;
        Check(MPI_Comm_rank(world, &rank), "MPI_Comm_rank");
        Check(MPI_Comm_size(world, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    /// <summary>This process's rank in MPI_COMM_WORLD (0 … <see cref="Size"/> − 1).</summary>
    public int Rank { get; }

    /// <summary>Processes in MPI_COMM_WORLD.</summary>
    public int Size { get; }

    /// <summary>True when this process was started by mpirun (OpenMPI sets OMPI_COMM_WORLD_SIZE for each rank).</summary>
    public static bool Launched => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is { Length: > 0 };

    /// <summary>Initialises MPI.</summary>
    /// <exception cref="InvalidInputException">OpenMPI's library is not installed.</exception>
    public static Mpi Start()
    {
        try
        {
            return new Mpi();
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidInputException($"MPI: {Library} not found ({InvalidInputException.FirstLine(e)}); install OpenMPI (Debian: apt-get install openmpi-bin)", e);
        }
    }

    /// <summary>Element-wise sum of every rank's <paramref name="values"/>, in place on every rank.</summary>
    public void AllReduceSum(Span<float> values)
    {
        fixed (float* p = values) Check(MPI_Allreduce(MPI_IN_PLACE, p, values.Length, floatType, sum, world), "MPI_Allreduce");
    }

    /// <inheritdoc cref="AllReduceSum(Span{float})"/>
    public void AllReduceSum(Span<double> values)
    {
        fixed (double* p = values) Check(MPI_Allreduce(MPI_IN_PLACE, p, values.Length, doubleType, sum, world), "MPI_Allreduce");
    }

    /// <summary>
    /// ZeRO's gradient step: <paramref name="values"/> (Size equal blocks) summed over ranks, and block
    /// <see cref="Rank"/> of the sum written to <paramref name="block"/>.
    /// </summary>
    public void ReduceScatterSum(ReadOnlySpan<float> values, Span<float> block)
    {
        if (values.Length != block.Length * Size) throw new ArgumentException($"{values.Length} values do not split into {Size} blocks of {block.Length}");
        fixed (float* s = values)
        fixed (float* r = block)
            Check(MPI_Reduce_scatter_block(s, r, block.Length, floatType, sum, world), "MPI_Reduce_scatter_block");
    }

    /// <summary>ZeRO's parameter step: every rank's <paramref name="block"/> gathered, in rank order, into <paramref name="all"/>.</summary>
    public void AllGather(ReadOnlySpan<float> block, Span<float> all)
    {
        if (all.Length != block.Length * Size) throw new ArgumentException($"{all.Length} values are not {Size} blocks of {block.Length}");
        fixed (float* s = block)
        fixed (float* r = all)
            Check(MPI_Allgather(s, block.Length, floatType, r, block.Length, floatType, world), "MPI_Allgather");
    }

    /// <summary>Waits for every rank.</summary>
    public void Barrier() => Check(MPI_Barrier(world), "MPI_Barrier");

    /// <summary>MPI_Finalize (once).</summary>
    public void Dispose()
    {
        if (finalized) return;
        finalized = true;
        MPI_Finalize();
    }

    static void Check(int code, string call)
    {
        // MPI's default error handler aborts the job on an error; a non-zero code only comes back when that was changed.
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error {code}");
    }

    static readonly void* MPI_IN_PLACE = (void*)1; // OpenMPI: #define MPI_IN_PLACE ((void *) 1)

    [DllImport(Library)] static extern int MPI_Init(int* argc, byte*** argv);
    [DllImport(Library)] static extern int MPI_Finalize();
    [DllImport(Library)] static extern int MPI_Comm_rank(nint comm, int* rank);
    [DllImport(Library)] static extern int MPI_Comm_size(nint comm, int* size);
    [DllImport(Library)] static extern int MPI_Barrier(nint comm);
    [DllImport(Library)] static extern int MPI_Allreduce(void* send, void* receive, int count, nint type, nint op, nint comm);
    [DllImport(Library)] static extern int MPI_Reduce_scatter_block(void* send, void* receive, int count, nint type, nint op, nint comm);
    [DllImport(Library)] static extern int MPI_Allgather(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType, nint comm);
}
