namespace Serving.Server.Benchmarks.Serve;

/// <summary>A run's results as vLLM's <c>calculate_metrics</c> defines them: throughputs over the whole run's
/// duration, token counts from the usage the server reported for completed requests, latency statistics over
/// completed requests only (ITL over every gap of every request, TPOT over requests with more than one output
/// token), and goodput as good requests per second (null without objectives).</summary>
internal sealed record ServeMetrics(
    int Completed,
    int Failed,
    long TotalInputTokens,
    long TotalOutputTokens,
    double DurationSeconds,
    double RequestThroughput,
    double? RequestGoodput,
    double InputThroughput,
    double OutputThroughput,
    double TotalTokenThroughput,
    MetricSummary TtftMs,
    MetricSummary TpotMs,
    MetricSummary ItlMs,
    MetricSummary E2elMs,
    IReadOnlyList<string> Errors)
{
    /// <summary>How many failure messages a result keeps (the first ones, in request order).</summary>
    public const int MaxErrors = 10;

    public static ServeMetrics Compute(IReadOnlyList<RequestOutcome> outcomes, double durationSeconds, ServiceLevelObjectives objectives)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(durationSeconds);
        var done = outcomes.Where(o => o.Success).ToList();
        long input = done.Sum(o => (long)o.PromptTokens);
        long output = done.Sum(o => (long)o.OutputTokens);
        var good = done.Count(objectives.IsMet);
        return new ServeMetrics(
            done.Count,
            outcomes.Count - done.Count,
            input,
            output,
            durationSeconds,
            done.Count / durationSeconds,
            objectives.Any ? good / durationSeconds : null,
            input / durationSeconds,
            output / durationSeconds,
            (input + output) / durationSeconds,
            SampleStatistics.Summarize(done.Select(o => o.TtftSeconds), 1000),
            SampleStatistics.Summarize(done.Where(o => o.TpotSeconds is not null).Select(o => o.TpotSeconds!.Value), 1000),
            SampleStatistics.Summarize(done.SelectMany(o => o.ItlSeconds), 1000),
            SampleStatistics.Summarize(done.Select(o => o.LatencySeconds), 1000),
            [.. outcomes.Where(o => !o.Success).Select(o => o.Error ?? "unknown error").Take(MaxErrors)]);
    }
}
