namespace SharpLM.Data.Privacy;

/// <summary>Which PII types to detect; every type is on by default.</summary>
public sealed record PiiOptions
{
    /// <summary>Detect e-mail addresses.</summary>
    public bool Email { get; init; } = true;
    /// <summary>Detect international (+country code) and North American phone numbers.</summary>
    public bool Phone { get; init; } = true;
    /// <summary>Detect mainland-China mobile numbers.</summary>
    public bool ChineseMobile { get; init; } = true;
    /// <summary>Detect dotted-quad IPv4 addresses, private and loopback ones included.</summary>
    public bool IPv4 { get; init; } = true;
    /// <summary>Detect IPv6 addresses, full or compressed.</summary>
    public bool IPv6 { get; init; } = true;
    /// <summary>Detect payment-card numbers with a known issuer prefix and a valid Luhn check digit.</summary>
    public bool CreditCard { get; init; } = true;
    /// <summary>Detect PRC resident identity numbers with a valid check character.</summary>
    public bool ChineseResidentId { get; init; } = true;
    /// <summary>Detect the user:password part of URLs.</summary>
    public bool UrlCredentials { get; init; } = true;

    /// <summary>Whether <paramref name="type"/> is to be detected.</summary>
    public bool IsEnabled(PiiType type) => type switch
    {
        PiiType.Email => Email,
        PiiType.Phone => Phone,
        PiiType.ChineseMobile => ChineseMobile,
        PiiType.IPv4 => IPv4,
        PiiType.IPv6 => IPv6,
        PiiType.CreditCard => CreditCard,
        PiiType.ChineseResidentId => ChineseResidentId,
        PiiType.UrlCredentials => UrlCredentials,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
