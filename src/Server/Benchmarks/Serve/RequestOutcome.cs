namespace Serving.Server.Benchmarks.Serve;

/// <summary>What one benchmark request measured, in seconds from the moment it was sent: time to the first content
/// chunk, the gaps between content chunks, and the time of the last chunk that carried a choice (the response's
/// end, as vLLM measures it; the trailing usage chunk and <c>[DONE]</c> are not part of the latency).</summary>
internal sealed record RequestOutcome(bool Success, string? Error, int PromptTokens, int OutputTokens, double TtftSeconds, IReadOnlyList<double> ItlSeconds, double LatencySeconds)
{
    /// <summary>Time per output token after the first, (E2E − TTFT) / (output tokens − 1); undefined (null) for a
    /// single-token output, which vLLM leaves out of the TPOT statistics.</summary>
    public double? TpotSeconds => OutputTokens > 1 ? (LatencySeconds - TtftSeconds) / (OutputTokens - 1) : null;

    public static RequestOutcome Failed(string error) => new(false, error, 0, 0, 0, [], 0);
}
