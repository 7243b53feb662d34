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

    [Fact]
    public void A_forged_count_whose_size_wraps_past_2_to_the_64_is_refused()
    {
        using var dir = new TempDirectory();
        TokenShard.Write(dir.File("s.bin"), new[] { 1, 2, 3, 4, 5 }, 70_000); // 4-byte ids: 20 bytes of body
        byte[] bytes = File.ReadAllBytes(dir.File("s.bin"));
        // 2^62 + 5 tokens × 4 bytes = 2^64 + 20 ≡ 20: an unchecked `32 + count × width == length` passes it.
        BitConverter.GetBytes((1UL << 62) + 5).CopyTo(bytes, 16);
        File.WriteAllBytes(dir.File("forged.bin"), bytes);
        var e = Assert.Throws<InvalidInputException>(() => TokenShard.Open(dir.File("forged.bin")));
        Assert.StartsWith(dir.File("forged.bin") + ": token shard is truncated or corrupt", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_id_past_the_vocabulary_is_an_error_naming_the_file_and_position()
    {
        using var dir = new TempDirectory();
        string path = dir.File("s.bin");
        // Written by hand: the writer itself refuses such ids.
        using (var w = new BinaryWriter(File.Create(path)))
        {
            w.Write(TokenShard.Header(2, 4, 10));
            foreach (ushort id in new ushort[] { 1, 2, 50, 3 }) w.Write(id);
        }
        using var shard = TokenShard.Open(path);
        var buffer = new long[4];
        var e = Assert.Throws<InvalidInputException>(() => shard.CopyTo(0, buffer));
        Assert.Equal($"{path}: token 2 has id 50, outside the shard's vocabulary of 10", e.Message);
        Assert.Throws<InvalidInputException>(() => shard[2]);
        Assert.Equal(3, shard[3]);
        shard.CopyTo(0, buffer.AsSpan(0, 2));
        Assert.Equal(new long[] { 1, 2 }, buffer[..2]);
    }

    [Fact]
    public void A_zero_vocabulary_in_the_header_is_refused()
    {
        using var dir = new TempDirectory();
        string path = dir.File("s.bin");
        using (var w = new BinaryWriter(File.Create(path)))
        {
            w.Write(TokenShard.Header(2, 1, 0));
            w.Write((ushort)0);
        }
        Assert.Contains("invalid vocabulary size 0", Assert.Throws<InvalidInputException>(() => TokenShard.Open(path)).Message);
    }
}
