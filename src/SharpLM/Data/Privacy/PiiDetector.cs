namespace SharpLM.Data.Privacy;

/// <summary>
/// Finds PII in text (see <see cref="PiiType"/>; each type's rules and the lookalikes it leaves alone are
/// documented on its scanner). Stateless and thread-safe. Cheap pre-checks skip whole scanners: text without an
/// ASCII digit has no numbers, addresses or IDs to scan, text without '@' no e-mail and no URL credentials; the
/// number-shaped types share one pass over the digit runs (<see cref="DigitRuns"/>).
/// </summary>
public sealed class PiiDetector
{
    /// <summary>
    /// Most specific first; when matches overlap, the more specific one wins: URL credentials over the e-mail-like
    /// "password@host" inside them, a resident ID or card number (checksummed) over anything in its digits, an e-mail
    /// over the mobile number in "13812345678@qq.com", IPv6 over the IPv4 embedded in it, a Chinese mobile over the
    /// same digits as a generic phone number. Between overlapping matches of equal rank, the longer one wins.
    /// </summary>
    static readonly PiiType[] Specificity =
    [
        PiiType.UrlCredentials, PiiType.ChineseResidentId, PiiType.CreditCard, PiiType.Email,
        PiiType.IPv6, PiiType.IPv4, PiiType.ChineseMobile, PiiType.Phone,
    ];
    static readonly int[] Rank = RankByType();

    static readonly (PiiType Type, DigitRunMatcher Match)[] AllDigitRunMatchers =
    [
        (PiiType.ChineseResidentId, ChineseResidentIds.TryMatch),
        (PiiType.CreditCard, PaymentCards.TryMatch),
        (PiiType.IPv4, Ipv4Addresses.TryMatch),
        (PiiType.ChineseMobile, ChineseMobileNumbers.TryMatch),
        (PiiType.Phone, PhoneNumbers.TryMatchInternational),
        (PiiType.Phone, PhoneNumbers.TryMatchNorthAmerican),
    ];

    readonly (PiiType Type, DigitRunMatcher Match)[] digitRunMatchers;

    /// <summary>A detector for the types <paramref name="options"/> enables; all types when null.</summary>
    public PiiDetector(PiiOptions? options = null)
    {
        Options = options ?? new PiiOptions();
        digitRunMatchers = AllDigitRunMatchers.Where(m => Options.IsEnabled(m.Type)).ToArray();
    }

    /// <summary>The types this detector looks for.</summary>
    public PiiOptions Options { get; }

    /// <summary>Non-overlapping matches in text order; an empty list (not allocated) when there are none.</summary>
    public IReadOnlyList<PiiMatch> Find(string text)
    {
        var found = FindCandidates(text);
        if (found is null) return [];
        var matches = new PiiMatch[found.Count];
        for (int i = 0; i < matches.Length; i++)
            matches[i] = new PiiMatch(found[i].Type, found[i].Start, found[i].Length, text.Substring(found[i].Start, found[i].Length));
        return matches;
    }

    /// <summary>What <see cref="Find"/> returns, without copying the matched text; null when nothing matched.</summary>
    internal List<PiiCandidate>? FindCandidates(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<PiiCandidate>? found = null;
        if (text.Contains('@'))
        {
            if (Options.UrlCredentials) UrlCredentials.Scan(text, ref found);
            if (Options.Email) EmailAddresses.Scan(text, ref found);
        }
        if (text.AsSpan().ContainsAnyInRange('0', '9'))
        {
            DigitRuns.Scan(text, digitRunMatchers, ref found);
            if (Options.IPv6) Ipv6Addresses.Scan(text, ref found);
        }
        return found is null ? null : ResolveOverlaps(found);
    }

    /// <summary>
    /// Sorts by position and, within each cluster of mutually overlapping candidates (almost always one or two),
    /// keeps the most specific first and then whatever does not overlap what was kept.
    /// </summary>
    static List<PiiCandidate> ResolveOverlaps(List<PiiCandidate> candidates)
    {
        candidates.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.Length.CompareTo(a.Length));
        var kept = new List<PiiCandidate>(candidates.Count);
        var cluster = new List<PiiCandidate>();
        for (int i = 0; i < candidates.Count; )
        {
            cluster.Clear();
            int end = candidates[i].End;
            for (; i < candidates.Count && candidates[i].Start < end; i++)
            {
                cluster.Add(candidates[i]);
                end = Math.Max(end, candidates[i].End);
            }
            if (cluster.Count == 1) { kept.Add(cluster[0]); continue; }

            cluster.Sort((a, b) => Rank[(int)a.Type] != Rank[(int)b.Type] ? Rank[(int)a.Type].CompareTo(Rank[(int)b.Type]) : b.Length.CompareTo(a.Length));
            int firstOfCluster = kept.Count;
            foreach (var candidate in cluster)
                if (!OverlapsAny(candidate, kept, firstOfCluster)) kept.Add(candidate);
            kept.Sort(firstOfCluster, kept.Count - firstOfCluster, ByStart);
        }
        return kept;
    }

    static readonly Comparer<PiiCandidate> ByStart = Comparer<PiiCandidate>.Create((a, b) => a.Start.CompareTo(b.Start));

    static bool OverlapsAny(PiiCandidate candidate, List<PiiCandidate> kept, int from)
    {
        for (int i = from; i < kept.Count; i++)
            if (kept[i].Start < candidate.End && candidate.Start < kept[i].End) return true;
        return false;
    }

    static int[] RankByType()
    {
        var rank = new int[Specificity.Length];
        for (int i = 0; i < Specificity.Length; i++) rank[(int)Specificity[i]] = i;
        return rank;
    }
}
