namespace SharpLM.Distributed;

/// <summary>
/// Byte transfers of any size for data jobs (a rank's share of a cleaned corpus, dedup keys): MPI counts are
/// ints, so what may pass 2 GiB in one call goes in pieces.
/// </summary>
public sealed unsafe partial class Mpi
{
    /// <summary>Largest single MPI message these helpers send: well under int.MaxValue bytes.</summary>
    const int MaxMessageBytes = 1 << 30;

    /// <summary>Sends <paramref name="data"/> to rank <paramref name="destination"/>: its length, then the bytes in messages of at most 1 GiB.</summary>
    public void SendBytes(ReadOnlySpan<byte> data, int destination, int tag = 0)
    {
        long length = data.Length;
        Check(MPI_Send(&length, 1, longType, destination, tag, world), "MPI_Send");
        for (int offset = 0; offset < data.Length; offset += MaxMessageBytes)
        {
            int count = Math.Min(MaxMessageBytes, data.Length - offset);
            fixed (byte* p = data.Slice(offset, count)) Check(MPI_Send(p, count, byteType, destination, tag, world), "MPI_Send");
        }
    }

    /// <summary>Receives what rank <paramref name="source"/> sent with <see cref="SendBytes"/> under the same tag.</summary>
    public byte[] ReceiveBytes(int source, int tag = 0)
    {
        long length;
        Check(MPI_Recv(&length, 1, longType, source, tag, world, null), "MPI_Recv");
        var data = new byte[length];
        for (int offset = 0; offset < data.Length; offset += MaxMessageBytes)
        {
            int count = Math.Min(MaxMessageBytes, data.Length - offset);
            fixed (byte* p = data.AsSpan(offset, count)) Check(MPI_Recv(p, count, byteType, source, tag, world, null), "MPI_Recv");
        }
        return data;
    }

    /// <summary>
    /// Every rank's <paramref name="chunks"/>, in rank order, on every rank: one <see cref="AllGatherBytes"/> per round,
    /// each rank giving its next chunk (or nothing), for as many rounds as the rank with the most chunks needs. Keep
    /// each chunk under int.MaxValue / <see cref="Size"/> bytes, so a round's total fits MPI's int count.
    /// </summary>
    public List<byte[]>[] AllGatherChunks(IReadOnlyList<byte[]> chunks)
    {
        var rounds = new double[] { chunks.Count };
        AllReduceMax(rounds);
        var all = Enumerable.Range(0, Size).Select(_ => new List<byte[]>()).ToArray();
        for (int round = 0; round < (int)rounds[0]; round++)
        {
            var gathered = AllGatherBytes(round < chunks.Count ? chunks[round] : ReadOnlySpan<byte>.Empty);
            for (int rank = 0; rank < Size; rank++)
                if (gathered[rank].Length > 0) all[rank].Add(gathered[rank]);
        }
        return all;
    }
}
