using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class OverlapResolutionTests
{
    [Fact]
    public void Url_credentials_win_over_the_email_like_password_at_host() =>
        Detected.Single("postgres://admin:pass@db.example.com/app", PiiType.UrlCredentials, "admin:pass");

    [Fact]
    public void An_email_wins_over_the_mobile_number_in_its_local_part() =>
        Detected.Single("QQ邮箱13812345678@qq.com", PiiType.Email, "13812345678@qq.com");

    [Fact]
    public void A_chinese_mobile_wins_over_the_same_digits_as_a_generic_phone() =>
        Detected.Single("+86 138 1234 5678", PiiType.ChineseMobile, "+86 138 1234 5678");

    [Fact]
    public void A_resident_id_wins_over_a_card_number_with_the_same_digits()
    {
        // A valid Gansu resident ID that is also a Luhn-valid 18-digit number with UnionPay's 62 prefix.
        const string id = "620102199001010257";
        var asCard = new PiiDetector(new PiiOptions { ChineseResidentId = false }).Find(id);
        Assert.Equal(PiiType.CreditCard, Assert.Single(asCard).Type);
        Detected.Single(id, PiiType.ChineseResidentId, id);
    }

    [Fact]
    public void An_international_number_is_one_match_not_an_inner_north_american_one() =>
        Detected.Single("+1 415-555-2671", PiiType.Phone, "+1 415-555-2671");

    [Fact]
    public void Non_overlapping_matches_of_different_types_all_survive_in_text_order()
    {
        var found = Detected.In("ftp://bob:pw@10.0.0.1/ or mail bob@example.com, id 11010519491231002X");
        Assert.Equal(
            [(PiiType.UrlCredentials, "bob:pw"), (PiiType.IPv4, "10.0.0.1"), (PiiType.Email, "bob@example.com"),
             (PiiType.ChineseResidentId, "11010519491231002X")],
            found);
    }

    [Fact]
    public void Disabled_types_neither_match_nor_block_others()
    {
        var detector = new PiiDetector(new PiiOptions { Email = false });
        var found = detector.Find("QQ邮箱13812345678@qq.com");
        Assert.Equal([(PiiType.ChineseMobile, "13812345678")], found.Select(m => (m.Type, m.Value)));
    }
}
