namespace Serving.Scheduler.Engine;

/// <summary>One request's share of a step: its known tokens [Start, Start + Count) are computed, and when they reach
/// its last known token the step samples its next one.</summary>
internal readonly record struct ScheduledChunk(RequestState Request, int Start, int Count)
{
    public bool SamplesNext => Start + Count == Request.Tokens.Count;
}
