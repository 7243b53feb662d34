using System.IO.Compression;

namespace SharpLM.Data.Ingestion;

/// <summary>
/// Gzip decompression that throws <see cref="InvalidDataException"/> on a stream cut short, which .NET's GZipStream
/// takes for a normal end (its check was reverted: dotnet/runtime#72726). The file's bytes are followed by one more
/// gzip member holding a known marker. After a complete file, multi-member or not, the marker decodes as a member of
/// its own and is all that comes after the file's bytes; after a file cut short, the marker's bytes continue the
/// unfinished member, which then throws or decodes to something else. What decodes after the file's bytes is only
/// checked, never passed on. Trailing bytes that are not gzip stop the decoder before the marker and count as damage.
/// An empty file passes: it is what GZipStream writes for empty content.
/// </summary>
internal sealed class CheckedGZipStream : ReadOnlyStream
{
    static readonly byte[] Marker = "\0SharpLM: end of the gzip input\0"u8.ToArray();
    static readonly byte[] MarkerMember = Compress(Marker);
    readonly FileThenMarker input;
    readonly GZipStream gzip;
    bool ended;

    public CheckedGZipStream(Stream file)
    {
        input = new FileThenMarker(file, MarkerMember);
        gzip = new GZipStream(input, CompressionMode.Decompress);
    }

    public override int Read(Span<byte> buffer)
    {
        if (ended || buffer.IsEmpty) return 0;
        int n = gzip.Read(buffer);
        // GZipStream reads more input only once it has decoded all it could, so output before the marker is the file's.
        if (!input.MarkerStarted) return n > 0 ? n : throw Damaged();
        var after = new MemoryStream();
        after.Write(buffer[..n]);
        var chunk = new byte[Marker.Length + 1];
        while (after.Length <= Marker.Length && (n = gzip.Read(chunk)) > 0) after.Write(chunk, 0, n);
        if (!after.ToArray().AsSpan().SequenceEqual(Marker)) throw Damaged();
        ended = true;
        return 0;
    }

    static InvalidDataException Damaged() => new("truncated or corrupt gzip stream");

    static byte[] Compress(byte[] data)
    {
        var compressed = new MemoryStream();
        using (var gz = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return compressed.ToArray();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) gzip.Dispose(); // and with it the input and the file
        base.Dispose(disposing);
    }

    /// <summary>The file's bytes, then the marker member's.</summary>
    sealed class FileThenMarker(Stream file, byte[] marker) : ReadOnlyStream
    {
        int markerRead;

        public bool MarkerStarted { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            if (!MarkerStarted)
            {
                int n = file.Read(buffer);
                if (n > 0 || buffer.IsEmpty) return n;
                MarkerStarted = true;
            }
            int count = Math.Min(buffer.Length, marker.Length - markerRead);
            marker.AsSpan(markerRead, count).CopyTo(buffer);
            markerRead += count;
            return count;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) file.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>What a forward-only stream that is only read has to stub.</summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public abstract override int Read(Span<byte> buffer);
}

/// <summary>A file stream that adds what is read from it to a <see cref="ReadProgress"/>.</summary>
internal sealed class CountingStream(FileStream file, ReadProgress progress) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => file.CanSeek; // Parquet seeks to its footer and column chunks
    public override bool CanWrite => false;
    public override long Length => file.Length;
    public override long Position { get => file.Position; set => file.Position = value; }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => file.Seek(offset, origin);
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = file.Read(buffer);
        progress.Add(n);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await file.ReadAsync(buffer, cancellationToken);
        progress.Add(n);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing) file.Dispose();
        base.Dispose(disposing);
    }
}
