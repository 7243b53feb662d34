// Build-time fix for TorchSharp 0.107 on Debian 12 / Ubuntu 22.04 (libstdc++ from GCC 12).
//
// TorchSharp's native glue, libLibTorchSharp.so, is linked with GCC 13 and so requires the symbol version
// GLIBCXX_3.4.32. The only symbol under that version is std::ios_base_library_init(), which GCC 13's
// <iostream> references without any relocation, so nothing ever binds it at run time. glibc nevertheless
// refuses to load a library whose *required* version is missing. Marking that one requirement weak
// (VER_FLG_WEAK in its Vernaux entry of .gnu.version_r) lets glibc load it. Nothing else is changed.
//
// Written for netstandard2.0 (what the task factory compiles against). This file is compiled twice: by MSBuild's RoslynCodeTaskFactory as the build task (see
// build/LibTorchSharpGlibcxx.targets) and by the test project, which defines ELF_PATCHER_NO_TASK.
#nullable disable // compiled as netstandard2.0 by the task factory too, where annotations are off
using System;
using System.IO;
using System.Text;

public static class ElfVersionRequirement
{
    public const ushort VerFlgWeak = 0x2;
    const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>Flags of the Vernaux entry named <paramref name="version"/>, or null if the file does not require it.</summary>
    public static ushort? Flags(byte[] elf, string version)
    {
        long? at = FindVernaux(elf, version);
        return at is long offset ? BitConverter.ToUInt16(elf, (int)offset + 4) : null;
    }

    /// <summary>Marks the requirement weak. Returns true if the bytes changed (false: absent or already weak).</summary>
    /// <summary>Where distributions put the system libstdc++.</summary>
    public static readonly string[] LibStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
    };

    /// <summary>The system libstdc++, or null when none is at a known place.</summary>
    public static string FindSystemLibStdCxx() => Array.Find(LibStdCxxCandidates, File.Exists);

    public static bool MakeWeak(byte[] elf, string version)
    {
        if (FindVernaux(elf, version) is not long at) return false;
        ushort flags = BitConverter.ToUInt16(elf, (int)at + 4);
        if ((flags & VerFlgWeak) != 0) return false;
        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)at + 4);
        return true;
    }

    /// <summary>
    /// True when the version string occurs in the library at <paramref name="path"/>. A libstdc++ names each
    /// version it provides in its version-definition section, so this is how we ask whether it provides it.
    /// </summary>
    public static bool LibraryMentions(string path, string version)
    {
        byte[] bytes = File.ReadAllBytes(path);
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        for (int i = 0; i + needle.Length <= bytes.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && bytes[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    /// <summary>File offset of the Vernaux entry (vna_hash, vna_flags at +4, …) for the version, or null.</summary>
    public static long? FindVernaux(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("only little-endian ELF64 is supported");
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)(shoff + (long)i * shentsize));
            if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
            long offset = BitConverter.ToInt64(elf, sh + 24);
            int strtabIndex = (int)BitConverter.ToUInt32(elf, sh + 40);
            int count = (int)BitConverter.ToUInt32(elf, sh + 44);
            long strtab = BitConverter.ToInt64(elf, checked((int)(shoff + (long)strtabIndex * shentsize)) + 24);
            long vn = offset;
            for (int n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    uint name = BitConverter.ToUInt32(elf, (int)aux + 8);
                    if (ReadCString(elf, strtab + name) == version) return aux;
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(elf, (int)vn + 12);
            }
        }
        return null;
    }

    static string ReadCString(byte[] bytes, long at)
    {
        int end = (int)at;
        while (bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(bytes, (int)at, end - (int)at);
    }
}

#if !ELF_PATCHER_NO_TASK
/// <summary>MSBuild task: weakens the GLIBCXX requirement of a copied libLibTorchSharp.so when the system lacks it.</summary>
public class WeakenGlibcxxRequirement : Microsoft.Build.Utilities.Task
{
    [Microsoft.Build.Framework.Required] public string Library { get; set; } = "";
    public string Version { get; set; } = "GLIBCXX_3.4.32";
    /// <summary>Patch even if this machine's libstdc++ has the version (for packages built for other machines).</summary>
    public bool Always { get; set; }

    public override bool Execute()
    {
        if (!File.Exists(Library)) return true;
        if (!Always)
        {
            // Unknown libstdc++ location: patch, since weak is harmless where the version exists.
            string system = ElfVersionRequirement.FindSystemLibStdCxx();
            if (system != null && ElfVersionRequirement.LibraryMentions(system, Version))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"{system} provides {Version}; {Library} left as is");
                return true;
            }
        }
        byte[] elf = File.ReadAllBytes(Library);
        if (!ElfVersionRequirement.MakeWeak(elf, Version)) return true; // absent or already weak: idempotent
        // Write beside and rename: never leaves a half-written library, and breaks any hard link into the NuGet cache.
        string temp = Library + ".weak.tmp";
        File.WriteAllBytes(temp, elf);
        File.Replace(temp, Library, null); // rename(2) on Unix
        string why = Always ? "published for machines it cannot inspect" : "this system's libstdc++ lacks it";
        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, $"SharpLM: marked {Version} weak in {Library} ({why})");
        return true;
    }
}
#endif
