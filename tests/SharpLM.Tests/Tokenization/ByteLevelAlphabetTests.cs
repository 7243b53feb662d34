using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class ByteLevelAlphabetTests
{
    [Fact]
    public void MapsBytesLikeGpt2()
    {
        Assert.Equal('Ġ', ByteLevelAlphabet.ToChar((byte)' '));
        Assert.Equal('Ċ', ByteLevelAlphabet.ToChar((byte)'\n'));
        Assert.Equal('A', ByteLevelAlphabet.ToChar((byte)'A'));
        Assert.Equal('Ā', ByteLevelAlphabet.ToChar(0));
        Assert.Equal('é', ByteLevelAlphabet.ToChar(0xE9));
        Assert.Equal("ĠhÃ©", ByteLevelAlphabet.ToSymbols(" hé"u8));
    }

    [Fact]
    public void SymbolOrderIsGpt2VocabOrder()
    {
        // GPT-2's encoder.json starts "!"=0 … "~"=93, "¡"=94, and gives 'Ġ' (space) id 220.
        Assert.Equal('!', ByteLevelAlphabet.Symbols[0]);
        Assert.Equal('¡', ByteLevelAlphabet.Symbols[94]);
        Assert.Equal('Ġ', ByteLevelAlphabet.Symbols[220]);
        Assert.Equal(256, ByteLevelAlphabet.Symbols.Distinct().Count());
    }

    [Fact]
    public void EveryByteRoundTrips()
    {
        byte[] all = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        Assert.True(ByteLevelAlphabet.TryGetBytes(ByteLevelAlphabet.ToSymbols(all), out byte[] back));
        Assert.Equal(all, back);
        Assert.False(ByteLevelAlphabet.TryGetBytes("a b", out _)); // a real space is not a symbol
    }
}
