using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Serving.Kernels.Sampling;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Server.Inference;

/// <summary>
/// Merges the output streams of a request's choices into one sequence of updates: each update carries everything a
/// choice had ready at that moment (one chunk per token batch when streaming), the last one per choice its finish
/// reason. The merge buffer is bounded, so a slow reader still pauses the engine through the per-request channels.
/// </summary>
internal static class ChoiceStream
{
    public static async IAsyncEnumerable<ChoiceUpdate> ReadAsync(IReadOnlyList<RequestHandle> handles, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var merged = Channel.CreateBounded<ChoiceUpdate>(new BoundedChannelOptions(Math.Max(4, handles.Count * 2)) { SingleReader = true });
        var pumps = new Task[handles.Count];
        for (var i = 0; i < handles.Count; i++)
        {
            pumps[i] = PumpAsync(i, handles[i], merged.Writer, cancellationToken);
        }

        _ = Task.WhenAll(pumps).ContinueWith(t => merged.Writer.TryComplete(t.Exception), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        await foreach (var update in merged.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    public static string FinishReasonName(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length or FinishReason.ContextFull => "length",
        _ => "abort",
    };

    private static async Task PumpAsync(int index, RequestHandle handle, ChannelWriter<ChoiceUpdate> writer, CancellationToken cancellationToken)
    {
        var reader = handle.Output;
        var text = new StringBuilder();
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            text.Clear();
            var tokens = new List<int>();
            List<(int, TokenLogprobs)>? logprobs = null;
            while (reader.TryRead(out var piece))
            {
                text.Append(piece.Text);
                if (piece.TokenId >= 0)
                {
                    tokens.Add(piece.TokenId);
                    if (piece.Logprobs is { } lp)
                    {
                        (logprobs ??= []).Add((piece.TokenId, lp));
                    }
                }
            }

            if (tokens.Count > 0 || text.Length > 0)
            {
                await writer.WriteAsync(new ChoiceUpdate(index, text.ToString(), tokens, logprobs, null), cancellationToken).ConfigureAwait(false);
            }
        }

        var reason = await handle.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(new ChoiceUpdate(index, string.Empty, [], null, FinishReasonName(reason)), cancellationToken).ConfigureAwait(false);
    }
}
