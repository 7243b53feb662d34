using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class UrlCredentialsDetectionTests
{
    [Theory]
    [InlineData("DATABASE_URL=postgres://admin:s3cret@db.example.com:5432/app", "admin:s3cret")]
    [InlineData("redis://:hunter2@cache.internal:6379/0", ":hunter2")]
    [InlineData("https://user:p@ss@host.example.com/x", "user:p@ss")]
    [InlineData("ftp://bob:pw@[2001:db8::1]/pub", "bob:pw")]
    [InlineData("见 http://张三:密码@内网/ 页面", "张三:密码")]
    public void The_user_and_password_of_a_url_are_found(string text, string credentials) =>
        Assert.Contains((PiiType.UrlCredentials, credentials), Detected.In(text));

    [Theory]
    [InlineData("https://example.com/path?email=a@b.com")]
    [InlineData("https://user@example.com/")]
    [InlineData("http://host.example.com:8080/path")]
    [InlineData("mailto:someone@example.com")]
    [InlineData("odd ://x:y@z")]
    public void Urls_without_a_password_have_no_credentials(string text) =>
        Assert.DoesNotContain(Detected.In(text), m => m.Type == PiiType.UrlCredentials);
}
