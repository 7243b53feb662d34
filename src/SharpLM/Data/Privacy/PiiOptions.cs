namespace SharpLM.Data.Privacy;

/// <summary>Which PII types to detect; every type is on by default.</summary>
public sealed record PiiOptions
{
    public bool Email { get; init; } = true;
    public bool Phone { get; init; } = true;
    public bool ChineseMobile { get; init; } = true;
    public bool IPv4 { get; init; } = true;
    public bool IPv6 { get; init; } = true;
    public bool CreditCard { get; init; } = true;
    public bool ChineseResidentId { get; init; } = true;
    public bool UrlCredentials { get; init; } = true;

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
