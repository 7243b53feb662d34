using System.IO.MemoryMappedFiles;
using System.Text;

namespace SharpLM.Data;

/// <summary>
/// A file of token ids, memory-mapped for training so that corpora larger than RAM cost no load time.
/// Layout (little-endian): a 32-byte header — magic "SLMTOKEN", version (u32), bytes per token (u32: 2 or 4),
/// token count (u64), vocabulary size (u32), reserved (u32) — then the ids as uint16 when the vocabulary fits,
/// else uint32.
/// </summary>
public sealed unsafe class TokenShard : IDisposable
{
    /// <summary>Bytes before the first token id.</summary>
    public const int HeaderSize = 32;
    /// <summary>The header version this code writes and the only one it reads.</summary>
    public const uint FormatVersion = 1;
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("SLMTOKEN");

    readonly MemoryMappedFile? file;
    readonly MemoryMappedViewAccessor? view;
    readonly byte* data;

    TokenShard(string path, MemoryMappedFile? file, MemoryMappedViewAccessor? view, byte* data, int bytesPerToken, long count, int vocabSize)
    {
        Path = path;
        this.file = file;
        this.view = view;
        this.data = data;
        BytesPerToken = bytesPerToken;
        Count = count;
        VocabSize = vocabSize;
    }

    /// <summary>The file the shard was opened from, as given; named in error messages.</summary>
    public string Path { get; }
    /// <summary>Width of each stored id: 2 (uint16) or 4 (uint32).</summary>
    public int BytesPerToken { get; }
    /// <summary>Number of token ids in the shard.</summary>
    public long Count { get; }
    /// <summary>Size of the vocabulary the ids were written for, as the header records it.</summary>
    public int VocabSize { get; }

    /// <summary>The token id at <paramref name="index"/> (0 … <see cref="Count"/>-1).</summary>
    public int this[long index]
    {
        get
        {
            if ((ulong)index >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(index));
            uint id = BytesPerToken == 2 ? ((ushort*)data)[index] : ((uint*)data)[index];
            if (id >= (uint)VocabSize) throw BadId(index, id);
            return (int)id;
        }
    }

    /// <summary>Copies tokens [start, start + destination.Length) as int64 (what embedding lookups take).</summary>
    public void CopyTo(long start, Span<long> destination)
    {
        if (start < 0 || start > Count - destination.Length) throw new ArgumentOutOfRangeException(nameof(start));
        // Ids are checked as they are copied (one compare each, next to the load): an id past the vocabulary would
        // index outside the embedding table, a native crash on the GPU.
        uint max = 0;
        if (BytesPerToken == 2)
        {
            ushort* p = (ushort*)data + start;
            for (int i = 0; i < destination.Length; i++) { destination[i] = p[i]; max = Math.Max(max, p[i]); }
        }
        else
        {
            uint* p = (uint*)data + start;
            for (int i = 0; i < destination.Length; i++) { destination[i] = p[i]; max = Math.Max(max, p[i]); }
        }
        if (max >= (uint)VocabSize)
        {
            int at = destination.IndexOf(max);
            throw BadId(start + at, max);
        }
    }

    InvalidInputException BadId(long index, uint id) =>
        InvalidInputException.ForFile(Path, $"token {index} has id {id}, outside the shard's vocabulary of {VocabSize}");

    /// <summary>Bytes per stored id for a vocabulary of <paramref name="vocabSize"/>: 2 when every id fits in uint16, else 4.</summary>
    public static int BytesPerTokenFor(int vocabSize) => vocabSize <= 65536 ? 2 : 4;

    /// <summary>Opens and validates a shard; a bad file gives a one-line error naming it.</summary>
    public static TokenShard Open(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "token shard not found");
        long length = new FileInfo(path).Length;
        if (length < HeaderSize) throw InvalidInputException.ForFile(path, $"not a token shard (only {length} bytes)");
        byte[] header = new byte[HeaderSize];
        using (var fs = File.OpenRead(path)) fs.ReadExactly(header);
        if (!header.AsSpan(0, 8).SequenceEqual(Magic)) throw InvalidInputException.ForFile(path, "not a token shard (bad magic)");
        uint version = BitConverter.ToUInt32(header, 8);
        if (version != FormatVersion) throw InvalidInputException.ForFile(path, $"token shard version {version} is not supported (expected {FormatVersion})");
        int bytesPerToken = (int)BitConverter.ToUInt32(header, 12);
        if (bytesPerToken is not (2 or 4)) throw InvalidInputException.ForFile(path, $"token shard has invalid token width {bytesPerToken}");
        ulong count = BitConverter.ToUInt64(header, 16);
        uint vocab = BitConverter.ToUInt32(header, 24);
        // Compare by division, never multiplication: a forged count whose product wraps past 2^64 would pass
        // `32 + count × width == length`, and the sampler would then read far beyond the mapping.
        long body = length - HeaderSize;
        if (body % bytesPerToken != 0 || count != (ulong)(body / bytesPerToken))
            throw InvalidInputException.ForFile(path, $"token shard is truncated or corrupt: header says {count} tokens, file holds {body / bytesPerToken}");
        if (vocab == 0 || vocab > int.MaxValue || (bytesPerToken == 2 && vocab > 65536))
            throw InvalidInputException.ForFile(path, $"token shard has invalid vocabulary size {vocab} for {bytesPerToken}-byte ids");
        if (count == 0) return new TokenShard(path, null, null, null, bytesPerToken, 0, (int)vocab);

        var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        return new TokenShard(path, mmf, view, p + view.PointerOffset + HeaderSize, bytesPerToken, (long)count, (int)vocab);
    }

    /// <summary>Writes ids as a shard atomically.</summary>
    public static void Write(string path, IEnumerable<int> ids, int vocabSize)
    {
        using var writer = new TokenShardWriter(path, vocabSize);
        foreach (int id in ids) writer.Append(id);
        writer.Commit();
    }

    internal static byte[] Header(int bytesPerToken, long count, int vocabSize)
    {
        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BitConverter.GetBytes(FormatVersion).CopyTo(header, 8);
        BitConverter.GetBytes((uint)bytesPerToken).CopyTo(header, 12);
        BitConverter.GetBytes((ulong)count).CopyTo(header, 16);
        BitConverter.GetBytes((uint)vocabSize).CopyTo(header, 24);
        return header;
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (view is not null)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
        }
        file?.Dispose();
    }
}
