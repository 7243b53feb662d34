using System.Text;
using SharpLM.Data.Ingestion;

namespace SharpLM.Data.Mixture;

/// <summary>What a mixture's proportions and total are measured in.</summary>
public enum MixtureUnit
{
    /// <summary>UTF-8 bytes of the text: needs no tokenizer.</summary>
    Bytes,
    /// <summary>Tokens, counted by <see cref="MixtureOptions.TokenCounter"/>: what training actually consumes.</summary>
    Tokens,
}

/// <summary>How <see cref="DataMixer"/> sizes, samples and orders a mixture.</summary>
public sealed record MixtureOptions
{
    /// <summary>What proportions and totals count: UTF-8 bytes (the default) or tokens.</summary>
    public MixtureUnit Unit { get; init; } = MixtureUnit.Bytes;

    /// <summary>Tokens in a text; required when <see cref="Unit"/> is <see cref="MixtureUnit.Tokens"/>.</summary>
    public Func<string, int>? TokenCounter { get; init; }

    /// <summary>
    /// Size of the mixture in units. Null: the largest mixture that repeats no source, which the scarcest source
    /// (fewest units per unit of weight) sets by contributing all it has.
    /// </summary>
    public long? TotalUnits { get; init; }

    /// <summary>
    /// Repeat a source smaller than its share (whole passes plus a seeded subset of one more). When false such a
    /// source contributes everything once, and its achieved proportion falls short of the target.
    /// </summary>
    public bool AllowUpsampling { get; init; }

    /// <summary>Seeds which documents a down-sampled source keeps and the interleaving order.</summary>
    public ulong Seed { get; init; } = 1337;

    /// <summary>Interleave the sources' documents in a seeded random order; false writes the sources one after another.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>How the sources' files are read.</summary>
    public CorpusOptions Corpus { get; init; } = new();

    internal Func<string, long> Measure() => Unit switch
    {
        MixtureUnit.Bytes => text => Encoding.UTF8.GetByteCount(text),
        MixtureUnit.Tokens when TokenCounter is { } count => text => count(text),
        MixtureUnit.Tokens => throw new ArgumentException($"{nameof(TokenCounter)} is required when {nameof(Unit)} is {nameof(MixtureUnit.Tokens)}"),
        _ => throw new ArgumentOutOfRangeException(nameof(Unit), Unit, null),
    };
}
