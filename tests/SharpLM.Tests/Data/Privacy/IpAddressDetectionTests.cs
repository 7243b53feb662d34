using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class IpAddressDetectionTests
{
    [Theory]
    [InlineData("server at 192.168.1.1 is down", "192.168.1.1")]
    [InlineData("listen 10.0.0.1:8080", "10.0.0.1")]
    [InlineData("resolver 8.8.8.8.", "8.8.8.8")]
    [InlineData("IP地址是172.16.254.1，请检查", "172.16.254.1")]
    [InlineData("bind 0.0.0.0", "0.0.0.0")]
    [InlineData("mask 255.255.255.255", "255.255.255.255")]
    [InlineData("1.2.3.4", "1.2.3.4")]
    public void Dotted_quads_are_ipv4(string text, string address) => Detected.Single(text, PiiType.IPv4, address);

    [Theory]
    [InlineData("octet too big 256.1.1.1")]
    [InlineData("leading zero 192.168.01.1")]
    [InlineData("five parts 1.2.3.4.5")]
    [InlineData("tag v1.2.3.4")]
    [InlineData("version 1.2.3.4")]
    [InlineData("Version: 1.2.3.4")]
    [InlineData("版本 1.2.3.4")]
    [InlineData("Windows 10.0.19041.1")]
    [InlineData("15.01.2024 and 1.2.3 and 3.14159")]
    public void Versions_dates_and_out_of_range_octets_are_not_ipv4(string text) => Detected.Nothing(text);

    [Theory]
    [InlineData("ping ::1", "::1")]
    [InlineData("link-local fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a")]
    [InlineData("2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334")]
    [InlineData("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334.", "2001:0db8:85a3:0000:0000:8a2e:0370:7334")]
    [InlineData("http://[2001:db8::1]:8080/", "2001:db8::1")]
    [InlineData("gateway fe80::1", "fe80::1")]
    [InlineData("服务器地址是2001:db8::1。", "2001:db8::1")]
    public void Full_and_compressed_forms_are_ipv6(string text, string address) =>
        Detected.Single(text, PiiType.IPv6, address);

    [Theory]
    [InlineData("at 12:30:45 sharp")]
    [InlineData("MAC 00:1A:2B:3C:4D:5E")]
    [InlineData("std::string and Foo::Bar::Baz")]
    [InlineData("a::b")]
    [InlineData("x[1::2] and arr[::2] and s[::-1]")]
    [InlineData("2024-01-15T12:30:45Z")]
    [InlineData("Note: see 1:2")]
    public void Times_paths_and_slices_are_not_ipv6(string text) => Detected.Nothing(text);

    [Fact]
    public void An_ipv4_embedded_in_ipv6_is_part_of_the_ipv6_address() =>
        Detected.Single("mapped ::ffff:192.0.2.1 here", PiiType.IPv6, "::ffff:192.0.2.1");
}
