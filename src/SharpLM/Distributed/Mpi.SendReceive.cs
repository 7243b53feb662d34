using System.Runtime.InteropServices;

namespace SharpLM.Distributed;

public sealed unsafe partial class Mpi
{
    /// <summary>
    /// Sends <paramref name="send"/> to <paramref name="destination"/> and receives <paramref name="receive"/> from
    /// <paramref name="source"/> in one call (MPI_Sendrecv). Two neighbours that each send before receiving deadlock
    /// once messages are too large to be buffered; paired this way they cannot — what a 1F1B pipeline needs when a
    /// stage passes an activation forward while its neighbour passes a gradient back.
    /// </summary>
    public void SendReceive(ReadOnlySpan<float> send, int destination, int sendTag, Span<float> receive, int source, int receiveTag)
    {
        fixed (float* s = send)
        fixed (float* r = receive)
            Check(MPI_Sendrecv(s, send.Length, floatType, destination, sendTag, r, receive.Length, floatType, source, receiveTag, world, null), "MPI_Sendrecv");
    }

    [DllImport(Library)] static extern int MPI_Sendrecv(void* send, int sendCount, nint sendType, int destination, int sendTag, void* receive, int receiveCount, nint receiveType, int source, int receiveTag, nint comm, void* status); // null: MPI_STATUS_IGNORE
}
