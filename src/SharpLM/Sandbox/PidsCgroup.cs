using System.Globalization;
using System.Security.Cryptography;

namespace SharpLM.Sandbox;

/// <summary>
/// A pids cgroup for one run: the kernel refuses fork and thread creation past its limit whoever the user is
/// (RLIMIT_NPROC counts per user and exempts root), and its member list names every process of the run, so the
/// kill at the end reaches all of them by pid without guessing at process groups.
/// </summary>
internal sealed class PidsCgroup : IDisposable
{
    /// <summary>Where run cgroups can be made here (cgroup v1's pids hierarchy, or v2 with pids delegated), or null.</summary>
    static readonly Lazy<string?> Parent = new(FindParent);

    readonly string path;

    PidsCgroup(string path) => this.path = path;

    /// <summary>Whether runs here get a pids cgroup.</summary>
    public static bool Available => Parent.Value is not null;

    /// <summary>A fresh cgroup allowing <paramref name="maxTasks"/> tasks, or null where none can be made.</summary>
    public static PidsCgroup? TryCreate(long maxTasks)
    {
        if (Parent.Value is not string parent) return null;
        string path = Path.Combine(parent, "sharplm-sandbox-" + RandomNumberGenerator.GetHexString(16, lowercase: true));
        try
        {
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "pids.max"), maxTasks.ToString(CultureInfo.InvariantCulture));
            return new PidsCgroup(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { Directory.Delete(path); } catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException) { }
            return null;
        }
    }

    /// <summary>
    /// <paramref name="command"/> started through /bin/sh, which joins the cgroup before it execs the command, so
    /// not even the command's first fork happens outside it.
    /// </summary>
    public IReadOnlyList<string> Wrap(IReadOnlyList<string> command) =>
        ["/bin/sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", path, .. command];

    /// <summary>Kills every process still in the cgroup (repeatedly: one may fork while we read the list).</summary>
    public void KillAll()
    {
        for (int round = 0; round < 50; round++)
        {
            string[] pids;
            try { pids = File.ReadAllLines(Path.Combine(path, "cgroup.procs")); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
            if (pids.Length == 0) return;
            foreach (string pid in pids)
                if (int.TryParse(pid, CultureInfo.InvariantCulture, out int id)) _ = SandboxProcess.Signal(id, 9);
            Thread.Sleep(10);
        }
    }

    /// <summary>Kills what is left and removes the cgroup (a cgroup with members cannot be removed: retried briefly).</summary>
    public void Dispose()
    {
        KillAll();
        for (int attempt = 0; attempt < 100; attempt++)
        {
            try { Directory.Delete(path); return; }
            catch (DirectoryNotFoundException) { return; }
            catch (IOException) { Thread.Sleep(20); } // EBUSY: killed members not yet reaped
            catch (UnauthorizedAccessException) { return; }
        }
    }

    static string? FindParent()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            foreach (string line in File.ReadAllLines("/proc/self/cgroup"))
            {
                string[] parts = line.Split(':', 3);
                if (parts.Length != 3) continue;
                string? candidate = parts[1].Split(',').Contains("pids") ? Path.Join("/sys/fs/cgroup/pids", parts[2])
                    // cgroup v2: only where pids is already delegated to our cgroup's children.
                    : parts[0] == "0" && File.Exists(Path.Join("/sys/fs/cgroup", parts[2], "cgroup.subtree_control"))
                      && File.ReadAllText(Path.Join("/sys/fs/cgroup", parts[2], "cgroup.subtree_control")).Split().Contains("pids")
                        ? Path.Join("/sys/fs/cgroup", parts[2]) : null;
                if (candidate is null || !Directory.Exists(candidate)) continue;
                // Only a cgroup we can really make and limit counts.
                string trial = Path.Combine(candidate, "sharplm-sandbox-probe-" + RandomNumberGenerator.GetHexString(8, lowercase: true));
                try
                {
                    Directory.CreateDirectory(trial);
                    File.WriteAllText(Path.Combine(trial, "pids.max"), "8");
                    return candidate;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                finally
                {
                    try { Directory.Delete(trial); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }
}
