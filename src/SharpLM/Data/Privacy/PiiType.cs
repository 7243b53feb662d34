namespace SharpLM.Data.Privacy;

/// <summary>The kinds of personally identifiable information the privacy-reduction step finds and replaces.</summary>
public enum PiiType
{
    Email,
    /// <summary>An international (+country code) or North American phone number.</summary>
    Phone,
    /// <summary>A mainland-China mobile number (1[3-9] and nine more digits, optionally +86 / 0086 / 86).</summary>
    ChineseMobile,
    IPv4,
    IPv6,
    /// <summary>A payment-card number with a known issuer prefix and a valid Luhn check digit.</summary>
    CreditCard,
    /// <summary>An 18-character PRC resident identity number with a valid ISO 7064 MOD 11-2 check character.</summary>
    ChineseResidentId,
    /// <summary>The user:password part of a URL (scheme://user:password@host).</summary>
    UrlCredentials,
}
