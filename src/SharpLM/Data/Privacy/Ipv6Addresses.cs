using System.Net;

namespace SharpLM.Data.Privacy;

/// <summary>
/// IPv6 addresses, full ("2001:0db8:85a3:0000:0000:8a2e:0370:7334") and compressed ("::1", "fe80::1ff:fe23:4567:890a",
/// "::ffff:192.0.2.1"), validated by <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress?)"/>. Lookalikes
/// that survive: times (12:30:45, which do not parse), MAC addresses (six groups, no "::"), C++/Rust paths
/// (std::string, Foo::Bar: glued to letters), Python slices (a[1::2], [::2]: a two-colon form counts only as "::1"
/// or with a four-hex-digit group, e.g. "fe80::1") and hex-word forms without a decimal digit ("a::b",
/// "dead:beef::cafe", a deliberate miss). Zone ids ("%eth0") are not part of the match.
/// </summary>
static class Ipv6Addresses
{
    public static void Scan(string text, ref List<PiiCandidate>? found)
    {
        // Colons are common in prose ("Note: ..."), so every colon is only a seed: grow the run of address characters
        // around it, and reject it cheaply before parsing.
        for (int colon = text.IndexOf(':'); colon >= 0; )
        {
            int start = colon, end = colon + 1;
            while (start > 0 && IsAddressChar(text[start - 1])) start--;
            while (end < text.Length && IsAddressChar(text[end])) end++;
            colon = end < text.Length ? text.IndexOf(':', end) : -1;

            var token = text.AsSpan(start, end - start).TrimEnd('.');  // a sentence may end right after it
            bool standsAlone = (start == 0 || !char.IsAsciiLetterOrDigit(text[start - 1]))
                && (start + token.Length == text.Length || !char.IsAsciiLetterOrDigit(text[start + token.Length]));
            if (standsAlone && IsAddress(token)) PiiCandidate.Add(ref found, PiiType.IPv6, start, token.Length);
        }
    }

    static bool IsAddressChar(char c) => char.IsAsciiHexDigit(c) || c == ':' || c == '.';

    static bool IsAddress(ReadOnlySpan<char> token)
    {
        int colons = token.Count(':');
        if (colons < 2 || !token.ContainsAnyInRange('0', '9')) return false;
        if (colons == 2 && !token.SequenceEqual("::1") && !HasFullGroup(token)) return false;
        return IPAddress.TryParse(token, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
    }

    static bool HasFullGroup(ReadOnlySpan<char> token)
    {
        foreach (var group in token.Split(':'))
            if (token[group].Length == 4) return true;
        return false;
    }
}
