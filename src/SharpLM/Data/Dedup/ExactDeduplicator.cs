using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace SharpLM.Data.Dedup;

/// <summary>
/// Exact de-duplication: documents whose normalised text (Unicode NFKC, lower case, whitespace runs collapsed,
/// trimmed) is identical share a SHA-256 and only the first is kept. Memory is 32 bytes per distinct document.
/// </summary>
public sealed class ExactDeduplicator
{
    readonly Dictionary<UInt128, string> firstByHash = new();

    /// <summary>Id of the earlier identical document, or null when this one is new (and is now remembered).</summary>
    public string? Add(string id, string text) => Add(id, Key(text));

    /// <summary>As <see cref="Add(string, string)"/> with a key computed beforehand (e.g. on another thread).</summary>
    public string? Add(string id, UInt128 key)
    {
        if (firstByHash.TryGetValue(key, out string? first)) return first;
        firstByHash[key] = id;
        return null;
    }

    /// <summary>First 128 bits of SHA-256 of the normalised text: collisions are out of reach at any corpus size.</summary>
    public static UInt128 Key(string text)
    {
        // The normalised UTF-16 is built in a reused buffer and hashed as bytes: no intermediate strings.
        var buffer = keyBuffer ??= new char[4096];
        int length = Normalize(text, ref buffer);
        keyBuffer = buffer;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(buffer.AsSpan(0, length)), hash);
        return new UInt128(BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]));
    }

    [ThreadStatic] static char[]? keyBuffer;

    /// <summary>The text as <see cref="Key"/> compares it: NFKC, lower case, whitespace runs collapsed to one space, trimmed.</summary>
    public static string Normalize(string text)
    {
        var buffer = Array.Empty<char>();
        return new string(buffer, 0, Normalize(text, ref buffer));
    }

    /// <summary>NFKC, lower case, whitespace runs collapsed to one space, trimmed; written to <paramref name="buffer"/> (grown if needed).</summary>
    static int Normalize(string text, ref char[] buffer)
    {
        // Most text is already NFKC (all ASCII is), and the check is much cheaper than the normalisation.
        string folded = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        if (buffer.Length < 2 * folded.Length) buffer = new char[2 * folded.Length];
        // Lower-case the whole span (surrogate pairs included: Deseret, Osage, Adlam) into the buffer's back half,
        // then collapse whitespace runs into the front half.
        var lower = buffer.AsSpan(folded.Length, folded.Length);
        folded.AsSpan().ToLowerInvariant(lower);
        int length = 0;
        bool space = false;
        foreach (char c in lower)
        {
            if (char.IsWhiteSpace(c)) { space = length > 0; continue; }
            if (space) { buffer[length++] = ' '; space = false; }
            buffer[length++] = c;
        }
        return length;
    }
}
