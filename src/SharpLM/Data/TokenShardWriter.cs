namespace SharpLM.Data;

/// <summary>
/// Streams token ids into a new shard without holding them in memory. The file appears under its final name only
/// at <see cref="Commit"/> (temporary file, header patched with the count, flushed to disk, renamed); disposing
/// without committing deletes the temporary file.
/// </summary>
public sealed class TokenShardWriter : IDisposable
{
    readonly string path, temp;
    readonly FileStream stream;
    readonly BinaryWriter writer;
    readonly int vocabSize, width;
    bool committed;

    /// <summary>
    /// Starts a shard for <paramref name="path"/> in a temporary file beside it (creating the directory). Ids must be
    /// below <paramref name="vocabSize"/>, which also fixes the id width.
    /// </summary>
    public TokenShardWriter(string path, int vocabSize)
    {
        this.path = Path.GetFullPath(path);
        this.vocabSize = vocabSize;
        width = TokenShard.BytesPerTokenFor(vocabSize);
        Directory.CreateDirectory(Path.GetDirectoryName(this.path)!);
        temp = $"{this.path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        writer = new BinaryWriter(stream);
        writer.Write(TokenShard.Header(width, 0, vocabSize));
    }

    /// <summary>Ids appended so far.</summary>
    public long Count { get; private set; }

    /// <summary>Appends one id.</summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is outside 0 … vocabSize-1.</exception>
    public void Append(int id)
    {
        if ((uint)id >= (uint)vocabSize) throw new ArgumentException($"token id {id} outside vocabulary of {vocabSize}");
        if (width == 2) writer.Write((ushort)id); else writer.Write((uint)id);
        Count++;
    }

    /// <summary>Appends ids in order.</summary>
    /// <exception cref="ArgumentException">An id is outside 0 … vocabSize-1.</exception>
    public void Append(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids) Append(id);
    }

    /// <summary>Writes the final count into the header, flushes to disk and renames the file to its final name, replacing any file there.</summary>
    public void Commit()
    {
        writer.Flush();
        stream.Position = 0;
        stream.Write(TokenShard.Header(width, Count, vocabSize));
        stream.Flush(flushToDisk: true);
        writer.Dispose();
        File.Move(temp, path, overwrite: true);
        committed = true;
    }

    /// <summary>Closes the writer; without a <see cref="Commit"/>, deletes the temporary file.</summary>
    public void Dispose()
    {
        if (committed) return;
        writer.Dispose();
        File.Delete(temp);
    }
}
