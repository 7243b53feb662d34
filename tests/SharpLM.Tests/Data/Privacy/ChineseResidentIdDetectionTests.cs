using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class ChineseResidentIdDetectionTests
{
    /// <summary>The GB 11643 check character, computed here independently of the detector.</summary>
    static string WithCheckCharacter(string first17)
    {
        int[] weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        int sum = first17.Select((c, i) => (c - '0') * weights[i]).Sum();
        return first17 + "10X98765432"[sum % 11];
    }

    [Fact]
    public void The_published_example_id_is_valid() =>
        Detected.Single("身份证号：11010519491231002X，", PiiType.ChineseResidentId, "11010519491231002X");

    [Theory]
    [InlineData("11010519491231002x")]
    [InlineData("440308199901010012")]
    [InlineData("310104198001010017")]
    public void Ids_with_correct_check_characters_are_found(string id) =>
        Detected.Single($"证件号码 {id} 已登记", PiiType.ChineseResidentId, id);

    [Theory]
    [InlineData("32031120000229123")]   // born on a leap day
    [InlineData("65010220991231456")]
    [InlineData("81000019000101000")]
    public void Computed_ids_are_found(string first17)
    {
        string id = WithCheckCharacter(first17);
        Detected.Single($"ID: {id}.", PiiType.ChineseResidentId, id);
    }

    [Theory]
    [InlineData("110105194912310021")]   // check character should be X
    [InlineData("440308199901010013")]   // should be 2
    [InlineData("1101051949123100201")]  // nineteen characters
    public void Wrong_check_characters_and_lengths_are_not_ids(string text) => Detected.Nothing(text);

    [Theory]
    [InlineData("32031120010229123")]   // 29 February in a common year
    [InlineData("32031119491301123")]   // month 13
    [InlineData("32031118991231123")]   // born before 1900
    [InlineData("99010519491231002")]   // no province 99
    [InlineData("16010519491231002")]   // no province 16
    public void Impossible_dates_and_regions_are_not_ids_even_with_a_correct_check_character(string first17)
    {
        string id = WithCheckCharacter(first17);
        Assert.DoesNotContain(Detected.In(id), m => m.Type == PiiType.ChineseResidentId);
    }
}
