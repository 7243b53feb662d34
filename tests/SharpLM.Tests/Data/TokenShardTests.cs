using SharpLM.Data;

namespace SharpLM.Tests.Data;

public class TokenShardTests
{
    [Theory]
    [InlineData(65, 2)]
    [InlineData(65536, 2)]
    [InlineData(65537, 4)]
    [InlineData(100277, 4)]
    public void Ids_round_trip_with_the_narrowest_width_that_fits(int vocab, int width)
    {
        using var dir = new TempDirectory();
        int[] ids = { 0, 1, vocab - 1, vocab / 2, 7 };
        TokenShard.Write(dir.File("s.bin"), ids, vocab);
        using var shard = TokenShard.Open(dir.File("s.bin"));
        Assert.Equal(width, shard.BytesPerToken);
        Assert.Equal(vocab, shard.VocabSize);
        Assert.Equal(ids, Enumerable.Range(0, ids.Length).Select(i => shard[i]));
        Assert.Equal(TokenShard.HeaderSize + ids.Length * width, new FileInfo(dir.File("s.bin")).Length);
    }

    [Fact]
    public void Bad_magic_truncation_and_missing_file_name_the_file()
    {
        using var dir = new TempDirectory();
        TokenShard.Write(dir.File("ok.bin"), new[] { 1, 2, 3, 4 }, 10);
        byte[] bytes = File.ReadAllBytes(dir.File("ok.bin"));

        File.WriteAllBytes(dir.File("truncated.bin"), bytes[..^3]);
        var e1 = Assert.Throws<InvalidInputException>(() => TokenShard.Open(dir.File("truncated.bin")));
        Assert.Contains("truncated.bin", e1.Message);
        Assert.Contains("truncated or corrupt", e1.Message);

        byte[] badMagic = (byte[])bytes.Clone();
        badMagic[0] = (byte)'X';
        File.WriteAllBytes(dir.File("magic.bin"), badMagic);
        Assert.Contains("bad magic", Assert.Throws<InvalidInputException>(() => TokenShard.Open(dir.File("magic.bin"))).Message);

        Assert.Contains("nope.bin", Assert.Throws<InvalidInputException>(() => TokenShard.Open(dir.File("nope.bin"))).Message);
    }

    [Fact]
    public void Writer_that_is_not_committed_leaves_nothing_behind()
    {
        using var dir = new TempDirectory();
        using (var w = new TokenShardWriter(dir.File("s.bin"), 10)) w.Append(3);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
