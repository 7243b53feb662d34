using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace SharpLM.Server;

/// <summary>
/// Runs the model on a thread of its own. Generation is synchronous CPU work lasting seconds to minutes; on a
/// thread-pool thread it starves the pool that Kestrel needs to notice a client leaving, or to refuse the next
/// request with a quick 400 or 429, and on a small machine those waited for the pool to grow (seconds).
/// </summary>
internal static class GenerationThread
{
    /// <summary><paramref name="work"/> on a dedicated thread; the caller awaits it, so the model lease outlives it.</summary>
    public static Task<T> Run<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}

/// <summary>
/// A streamed generation produced on its own thread and read asynchronously through a small bounded channel, so
/// the model never runs more than a few pieces ahead of a slow client. Disposing stops the generation and waits
/// for its thread, so the model is idle again before the request's lease on it ends.
/// </summary>
internal sealed class GenerationPump : IAsyncDisposable
{
    readonly Channel<string> channel = Channel.CreateBounded<string>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
    readonly CancellationTokenSource stop;
    readonly Task producer;

    /// <param name="generate">Starts the generation; it must honour the token it is given, for every token.</param>
    /// <param name="cancellation">The request's token.</param>
    public GenerationPump(Func<CancellationToken, IEnumerable<string>> generate, CancellationToken cancellation)
    {
        stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var token = stop.Token;
        producer = Task.Factory.StartNew(() =>
        {
            try
            {
                foreach (string piece in generate(token))
                    while (!channel.Writer.TryWrite(piece))
                        if (!channel.Writer.WaitToWriteAsync(token).AsTask().GetAwaiter().GetResult()) return;
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e); // the reader rethrows it: a prompt error becomes the request's 400
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public string Current { get; private set; } = "";

    /// <summary>The next piece, false at the end; rethrows what stopped the generation.</summary>
    public async ValueTask<bool> MoveNextAsync()
    {
        while (true)
        {
            if (channel.Reader.TryRead(out string? piece))
            {
                Current = piece;
                return true;
            }
            bool more;
            try
            {
                more = await channel.Reader.WaitToReadAsync(stop.Token);
            }
            catch (ChannelClosedException e) when (e.InnerException is { } inner)
            {
                ExceptionDispatchInfo.Throw(inner);
                throw;
            }
            if (!more)
            {
                await channel.Reader.Completion; // faulted with the generation's exception, if it had one
                return false;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        await producer; // never faults: the producer hands its exceptions to the channel
        stop.Dispose();
    }
}
