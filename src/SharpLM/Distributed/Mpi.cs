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
public sealed unsafe partial class Mpi : IDisposable
{
    const string Library = "libmpi.so.40";
    readonly nint world, floatType, doubleType, byteType, intType, longType, sum, max;
    bool finalized;

    Mpi()
    {
        nint lib = NativeLibrary.Load(Library);
        world = NativeLibrary.GetExport(lib, "ompi_mpi_comm_world");
        floatType = NativeLibrary.GetExport(lib, "ompi_mpi_float");
        doubleType = NativeLibrary.GetExport(lib, "ompi_mpi_double");
        byteType = NativeLibrary.GetExport(lib, "ompi_mpi_byte");
        intType = NativeLibrary.GetExport(lib, "ompi_mpi_int");
        longType = NativeLibrary.GetExport(lib, "ompi_mpi_long_long_int");
        sum = NativeLibrary.GetExport(lib, "ompi_mpi_op_sum");
        max = NativeLibrary.GetExport(lib, "ompi_mpi_op_max");
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

    static Mpi? instance;

    /// <summary>Initialises MPI once per process (MPI_Init may be called only once); later calls return the same instance.</summary>
    /// <exception cref="InvalidInputException">OpenMPI's library is not installed.</exception>
    public static Mpi Start()
    {
        try
        {
            return instance ??= new Mpi();
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

    /// <summary>
    /// ZeRO's parameter step without a copy: <paramref name="all"/> is Size equal blocks, this rank's block
    /// <see cref="Rank"/> already filled in; every other rank's block is written into it (MPI_IN_PLACE).
    /// </summary>
    public void AllGatherInPlace(Span<float> all)
    {
        if (all.Length % Size != 0) throw new ArgumentException($"{all.Length} values do not split into {Size} blocks");
        fixed (float* r = all) Check(MPI_Allgather(MPI_IN_PLACE, 0, floatType, r, all.Length / Size, floatType, world), "MPI_Allgather");
    }

    /// <summary>ZeRO's parameter step: every rank's <paramref name="block"/> gathered, in rank order, into <paramref name="all"/>.</summary>
    public void AllGather(ReadOnlySpan<float> block, Span<float> all)
    {
        if (all.Length != block.Length * Size) throw new ArgumentException($"{all.Length} values are not {Size} blocks of {block.Length}");
        fixed (float* s = block)
        fixed (float* r = all)
            Check(MPI_Allgather(s, block.Length, floatType, r, block.Length, floatType, world), "MPI_Allgather");
    }

    /// <inheritdoc cref="AllReduceSum(Span{float})"/>
    public void AllReduceSum(Span<long> values)
    {
        fixed (long* p = values) Check(MPI_Allreduce(MPI_IN_PLACE, p, values.Length, longType, sum, world), "MPI_Allreduce");
    }

    /// <summary>Element-wise maximum of every rank's <paramref name="values"/>, in place on every rank.</summary>
    public void AllReduceMax(Span<double> values)
    {
        fixed (double* p = values) Check(MPI_Allreduce(MPI_IN_PLACE, p, values.Length, doubleType, max, world), "MPI_Allreduce");
    }

    /// <summary>Every rank's <paramref name="mine"/> (any length, each rank its own), in rank order, on every rank.</summary>
    public byte[][] AllGatherBytes(ReadOnlySpan<byte> mine)
    {
        var lengths = new int[Size];
        int length = mine.Length;
        fixed (int* r = lengths) Check(MPI_Allgather(&length, 1, intType, r, 1, intType, world), "MPI_Allgather");
        var displacements = new int[Size];
        for (int i = 1; i < Size; i++) displacements[i] = checked(displacements[i - 1] + lengths[i - 1]);
        var all = new byte[checked(displacements[^1] + lengths[^1])];
        fixed (byte* s = mine)
        fixed (byte* r = all)
        fixed (int* counts = lengths)
        fixed (int* offsets = displacements)
            Check(MPI_Allgatherv(s, mine.Length, byteType, r, counts, offsets, byteType, world), "MPI_Allgatherv");
        return Enumerable.Range(0, Size).Select(i => all.AsSpan(displacements[i], lengths[i]).ToArray()).ToArray();
    }

    /// <summary>Rank <paramref name="root"/>'s <paramref name="values"/> copied into every other rank's.</summary>
    public void Broadcast(Span<float> values, int root)
    {
        fixed (float* p = values) Check(MPI_Bcast(p, values.Length, floatType, root, world), "MPI_Bcast");
    }

    /// <summary>Sends <paramref name="values"/> to rank <paramref name="destination"/> (blocking until the buffer may be reused).</summary>
    public void Send(ReadOnlySpan<float> values, int destination, int tag = 0)
    {
        fixed (float* p = values) Check(MPI_Send(p, values.Length, floatType, destination, tag, world), "MPI_Send");
    }

    /// <summary>Receives exactly <paramref name="values"/>.Length floats from rank <paramref name="source"/>.</summary>
    public void Receive(Span<float> values, int source, int tag = 0)
    {
        fixed (float* p = values) Check(MPI_Recv(p, values.Length, floatType, source, tag, world, null), "MPI_Recv");
    }

    /// <summary>Waits for every rank.</summary>
    public void Barrier() => Check(MPI_Barrier(world), "MPI_Barrier");

    /// <summary>Rank of this process as mpirun told it (OMPI_COMM_WORLD_RANK), without starting MPI; null outside mpirun.</summary>
    public static int? LaunchedRank => int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK"), out int r) ? r : null;

    /// <summary>Processes mpirun started on this host (OMPI_COMM_WORLD_LOCAL_SIZE); 1 outside mpirun.</summary>
    public static int LocalSize => int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int n) && n > 0 ? n : 1;

    /// <summary>MPI_Finalize if this process started MPI: call once at exit, or mpirun reports the rank as failed.</summary>
    public static void Shutdown() => instance?.Dispose();

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
    [DllImport(Library)] static extern int MPI_Allgatherv(void* send, int sendCount, nint sendType, void* receive, int* receiveCounts, int* displacements, nint receiveType, nint comm);
    [DllImport(Library)] static extern int MPI_Bcast(void* buffer, int count, nint type, int root, nint comm);
    [DllImport(Library)] static extern int MPI_Send(void* buffer, int count, nint type, int destination, int tag, nint comm);
    [DllImport(Library)] static extern int MPI_Recv(void* buffer, int count, nint type, int source, int tag, nint comm, void* status); // null: MPI_STATUS_IGNORE
    [DllImport(Library)] static extern int MPI_Allgather(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType, nint comm);
}
