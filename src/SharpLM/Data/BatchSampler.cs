using SharpLM.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Data;

/// <summary>
/// Draws random windows of block_size+1 tokens from a shard: inputs are the first block_size tokens, targets the
/// same window shifted by one (nanoGPT's get_batch). Seeded, and its state is saved in checkpoints.
/// </summary>
public sealed class BatchSampler
{
    readonly TokenShard shard;
    readonly int batchSize, blockSize;
    readonly long[] buffer;

    /// <summary>A sampler over <paramref name="shard"/> whose generator starts from <paramref name="seed"/>.</summary>
    /// <param name="shard">The shard to draw from; every id in a drawn window must be below its vocabulary size.</param>
    /// <param name="batchSize">Windows per batch.</param>
    /// <param name="blockSize">Tokens per input row; each window reads one more token for the shifted targets.</param>
    /// <param name="seed">Seed of <see cref="Random"/>.</param>
    /// <exception cref="InvalidInputException">The shard holds no more than <paramref name="blockSize"/> tokens.</exception>
    public BatchSampler(TokenShard shard, int batchSize, int blockSize, ulong seed)
    {
        if (shard.Count <= blockSize)
            throw InvalidInputException.ForFile(shard.Path, $"holds {shard.Count} tokens, fewer than block_size+1 = {blockSize + 1}");
        this.shard = shard;
        this.batchSize = batchSize;
        this.blockSize = blockSize;
        Random = new SplitMix64(seed);
        buffer = new long[blockSize + 1];
    }

    /// <summary>
    /// The generator that picks window starts. Its <see cref="SplitMix64.State"/> is what checkpoints save and restore,
    /// so a resumed run draws the same batches as an uninterrupted one.
    /// </summary>
    public SplitMix64 Random { get; }

    /// <summary>Inputs and targets, int64 [batch, block_size], on <paramref name="device"/>.</summary>
    public (Tensor X, Tensor Y) Next(Device device)
    {
        var x = new long[batchSize * blockSize];
        var y = new long[batchSize * blockSize];
        for (int b = 0; b < batchSize; b++)
        {
            long start = Random.NextLong(shard.Count - blockSize);
            shard.CopyTo(start, buffer);
            foreach (long id in buffer)
                if (id >= shard.VocabSize) throw InvalidInputException.ForFile(shard.Path, $"holds token id {id}, outside its vocabulary of {shard.VocabSize}");
            Array.Copy(buffer, 0, x, b * blockSize, blockSize);
            Array.Copy(buffer, 1, y, b * blockSize, blockSize);
        }
        long[] shape = { batchSize, blockSize };
        return (tensor(x, shape).to(device), tensor(y, shape).to(device));
    }
}
