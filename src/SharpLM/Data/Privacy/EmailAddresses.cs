using System.Text.RegularExpressions;

namespace SharpLM.Data.Privacy;

/// <summary>
/// E-mail addresses: local@domain.tld with an ASCII local part (letters, digits and ._%+-, starting with a letter
/// or digit), dot-separated domain labels and a top-level domain of at least two letters. "user@localhost",
/// "a@b" and "lodash@4.17.21" are not addresses (no dotted domain with a letter TLD); neither are retina image
/// names such as "logo@2x.png". Internationalized (non-ASCII) addresses are not detected.
/// </summary>
static partial class EmailAddresses
{
    // Anchored (\G) at a start found by walking back from an '@': one attempt per '@' instead of one per word, which
    // is what an unanchored pattern beginning with the local-part class costs.
    [GeneratedRegex(@"\G[A-Za-z0-9][A-Za-z0-9._%+\-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-]|\.[A-Za-z0-9])",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Address();

    // Image-file extensions are not delegated top-level domains; "icon@2x.png" is an asset name, not an address.
    static readonly string[] ImageExtensions = ["png", "jpg", "jpeg", "gif", "svg", "webp"];

    public static void Scan(string text, ref List<PiiCandidate>? found)
    {
        for (int at = text.IndexOf('@'); at >= 0; at = text.IndexOf('@', at + 1))
        {
            int start = at;
            while (start > 0 && IsLocalChar(text[start - 1])) start--;
            // A local part starts with a letter or digit: "...bob@x.com" is bob's address.
            while (start < at && !char.IsAsciiLetterOrDigit(text[start])) start++;
            var m = Address().Match(text, start);
            if (m.Success && !IsImageName(m.ValueSpan)) PiiCandidate.Add(ref found, PiiType.Email, m.Index, m.Length);
        }
    }

    static bool IsLocalChar(char c) => char.IsAsciiLetterOrDigit(c) || "._%+-".Contains(c);

    static bool IsImageName(ReadOnlySpan<char> address)
    {
        var tld = address[(address.LastIndexOf('.') + 1)..];
        foreach (string extension in ImageExtensions)
            if (tld.Equals(extension, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
