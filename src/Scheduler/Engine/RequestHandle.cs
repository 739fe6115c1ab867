using System.Threading.Channels;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Engine;

/// <summary>A submitted request: its id (for <see cref="LlmEngine.Abort"/>), its output as it comes, and
/// why it ended.</summary>
public sealed class RequestHandle
{
    internal RequestHandle(long id, ChannelReader<GeneratedPiece> output, Task<FinishReason> completion, Task scheduled)
    {
        Scheduled = scheduled;
        Id = id;
        Output = output;
        Completion = completion;
    }

    /// <summary>Engine-wide request id.</summary>
    public long Id { get; }

    /// <summary>Generated tokens with the text each released, in order; completes when the request ends. Its
    /// reader must keep up: a request whose buffer is full is paused.</summary>
    public ChannelReader<GeneratedPiece> Output { get; }

    /// <summary>Completes when an engine step first computes the request's tokens (it left the waiting queue); never
    /// completes for a request aborted while waiting.</summary>
    public Task Scheduled { get; }

    /// <summary>Why the request ended (<see cref="FinishReason.Abort"/> after <see cref="LlmEngine.Abort"/>).</summary>
    public Task<FinishReason> Completion { get; }
}
