namespace SharpLM.Data.Catalog;

/// <summary>Formats download progress and sizes the way the CLI prints them.</summary>
public static class DownloadReport
{
    /// <summary>"tinyshakespeare/input.txt  512.0 KiB / 1.1 MiB  47%  2.3 MiB/s  ETA 0:00" (the total, share and ETA when known).</summary>
    public static string Line(DownloadProgress p)
    {
        string done = p.Total is long total
            ? $"{Size(p.Received)} / {Size(total)}  {100.0 * p.Received / Math.Max(total, 1):F0}%"
            : Size(p.Received);
        string eta = p.Eta is TimeSpan t ? $"  ETA {(int)t.TotalMinutes}:{t.Seconds:D2}" : "";
        return $"{p.Path}  {done}  {Size((long)p.BytesPerSecond)}/s{eta}";
    }

    /// <summary>A progress sink that calls <paramref name="log"/> with <see cref="Line"/> on the reporting thread, in order.</summary>
    public static IProgress<DownloadProgress> To(Action<string> log) => new Sink(p => log(Line(p)));

    sealed class Sink(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    /// <summary>Bytes in binary units with one decimal ("742.8 KiB").</summary>
    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:F1} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / 1048576.0:F1} MiB",
        _ => $"{bytes / 1073741824.0:F1} GiB",
    };
}
