namespace SharpLM.IO;

/// <summary>
/// Crash-safe file writes: write to a temporary file beside the target, flush it to disk, then rename over the
/// target. A reader therefore sees either the old complete file or the new complete file, never a torn one.
/// </summary>
public static class AtomicFile
{
    /// <summary>Test hook: called after the temporary file is fully written and before the rename.</summary>
    internal static Action<string>? BeforeRename;

    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>, which gets a stream onto the temporary file,
    /// creating the directory if needed. If anything throws, the temporary file is deleted and the target left as it was.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            BeforeRename?.Invoke(temp);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true); w.Write(text); });

    /// <summary>Writes <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Removes temporary files a crashed writer may have left in <paramref name="directory"/>.</summary>
    public static void CleanStaleTemporaries(string directory)
    {
        if (!Directory.Exists(directory)) return;
        foreach (string f in Directory.EnumerateFiles(directory, "*.tmp-*")) TryDelete(f);
    }

    /// <summary>Deletes a file if it can; a file already gone or locked is left to the next clean-up.</summary>
    internal static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
