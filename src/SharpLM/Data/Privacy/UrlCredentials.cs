namespace SharpLM.Data.Privacy;

/// <summary>
/// Credentials embedded in a URL: scheme://user:password@host. Only the user:password part is reported, so that
/// redaction keeps the scheme and host ("postgres://&lt;CREDENTIALS&gt;@db.example.com/app"), which carry no
/// secret and are useful training text. The password may contain an unescaped '@' (the last '@' of the authority
/// ends it), and either side may be empty ("redis://:secret@cache"), but a bare user without ':' is not a
/// credential here (an address-like "user@host.tld" after "//" is still found as an e-mail).
/// </summary>
static class UrlCredentials
{
    public static void Scan(string text, ref List<PiiCandidate>? found)
    {
        for (int at = text.IndexOf("://", StringComparison.Ordinal); at >= 0; at = text.IndexOf("://", at + 3, StringComparison.Ordinal))
        {
            // "://" must end a scheme (http, postgres+psycopg, ...), not stand alone.
            if (at == 0 || !char.IsAsciiLetterOrDigit(text[at - 1])) continue;
            int start = at + 3, end = start;
            while (end < text.Length && IsAuthorityChar(text[end])) end++;
            int lastAt = text.AsSpan(start, end - start).LastIndexOf('@');
            if (lastAt <= 0) continue;
            var userInfo = text.AsSpan(start, lastAt);
            bool hasHost = start + lastAt + 1 < end || (end < text.Length && text[end] == '[');
            if (userInfo.Contains(':') && userInfo.Length > 1 && hasHost)
                PiiCandidate.Add(ref found, PiiType.UrlCredentials, start, lastAt);
        }
    }

    // The authority ends at the path, query or fragment, at whitespace, and at characters that delimit URLs in
    // prose, markup and code (quotes, brackets, parentheses). '[' also starts an IPv6 host literal.
    static bool IsAuthorityChar(char c) => !char.IsWhiteSpace(c) && "/?#\"'`<>()[]{}|\\^".IndexOf(c) < 0;
}
