using System.Runtime.CompilerServices;
using System.Threading.Channels;
using SharpLM.Inference.Batching;

namespace SharpLM.Server;

/// <summary>
/// The generations of one request (several prompts, <c>n</c> choices each) run side by side in the batch; their
/// pieces are read as they come, tagged with the choice's index. The first failure ends the whole request and
/// cancels the other choices.
/// </summary>
internal static class Choices
{
    public static async IAsyncEnumerable<(int Index, GeneratedPiece Piece)> Merge(
        IReadOnlyList<Func<CancellationToken, IAsyncEnumerable<GeneratedPiece>>> choices, [EnumeratorCancellation] CancellationToken cancellation)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var merged = Channel.CreateUnbounded<(int, GeneratedPiece)>(new UnboundedChannelOptions { SingleReader = true });
        int remaining = choices.Count;
        var readers = choices.Select((choice, index) => Task.Run(async () =>
        {
            try
            {
                await foreach (var piece in choice(stop.Token)) merged.Writer.TryWrite((index, piece));
                if (Interlocked.Decrement(ref remaining) == 0) merged.Writer.TryComplete();
            }
            catch (Exception e)
            {
                merged.Writer.TryComplete(e);
                stop.Cancel();
            }
        })).ToArray();
        try
        {
            await foreach (var item in merged.Reader.ReadAllAsync(cancellation)) yield return item;
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(readers); // they never fault: failures go to the channel
        }
    }

    /// <summary>A choice with max_tokens 0: nothing is generated and it ends at once ("length"), without the model.</summary>
    public static async IAsyncEnumerable<GeneratedPiece> Empty(int promptTokens)
    {
        await Task.CompletedTask;
        yield return new GeneratedPiece("", null, new GenerationEnd("length", promptTokens, 0));
    }

    /// <summary>One choice read to its end: text, tokens and how it ended.</summary>
    public static async Task<Completed> CollectAsync(IAsyncEnumerable<GeneratedPiece> pieces, Action? firstToken = null)
    {
        var text = new System.Text.StringBuilder();
        var tokens = new List<GeneratedToken>();
        GenerationEnd? end = null;
        await foreach (var piece in pieces)
        {
            if (piece.Token is { } token)
            {
                if (tokens.Count == 0) firstToken?.Invoke();
                tokens.Add(token);
            }
            text.Append(piece.Text);
            end = piece.End ?? end;
        }
        return new Completed(text.ToString(), tokens, end ?? throw new InvalidOperationException("the generation ended without saying why"));
    }

    internal sealed record Completed(string Text, IReadOnlyList<GeneratedToken> Tokens, GenerationEnd End);
}
