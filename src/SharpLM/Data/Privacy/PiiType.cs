namespace SharpLM.Data.Privacy;

/// <summary>The kinds of personally identifiable information the privacy-reduction step finds and replaces.</summary>
public enum PiiType
{
    /// <summary>An e-mail address (local@domain.tld, ASCII only).</summary>
    Email,
    /// <summary>An international (+country code) or North American phone number.</summary>
    Phone,
    /// <summary>A mainland-China mobile number (1[3-9] and nine more digits, optionally +86 / 0086 / 86).</summary>
    ChineseMobile,
    /// <summary>A dotted-quad IPv4 address.</summary>
    IPv4,
    /// <summary>An IPv6 address, full or compressed.</summary>
    IPv6,
    /// <summary>A payment-card number with a known issuer prefix and a valid Luhn check digit.</summary>
    CreditCard,
    /// <summary>An 18-character PRC resident identity number with a valid ISO 7064 MOD 11-2 check character.</summary>
    ChineseResidentId,
    /// <summary>The user:password part of a URL (scheme://user:password@host).</summary>
    UrlCredentials,
}
