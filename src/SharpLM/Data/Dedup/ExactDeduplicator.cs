using System.Globalization;
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
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(Normalize(text)), hash);
        return new UInt128(BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]));
    }

    public static string Normalize(string text)
    {
        string folded = text.Normalize(NormalizationForm.FormKC).ToLower(CultureInfo.InvariantCulture);
        var sb = new StringBuilder(folded.Length);
        bool space = false;
        foreach (char c in folded)
        {
            if (char.IsWhiteSpace(c)) { space = sb.Length > 0; continue; }
            if (space) { sb.Append(' '); space = false; }
            sb.Append(c);
        }
        return sb.ToString();
    }
}
