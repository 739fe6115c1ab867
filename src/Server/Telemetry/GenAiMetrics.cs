using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Serving.Server.Telemetry;

/// <summary>
/// The OpenTelemetry GenAI server instruments (request duration, time to first token, time per output token, token
/// usage) and a counter of request outcomes, by finish reason for completed requests and by error type for failed
/// ones. Failed requests are recorded in the duration histogram too, with <c>error.type</c> set, as the semantic
/// conventions ask.
/// </summary>
internal sealed class GenAiMetrics
{
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<long> _tokenUsage;
    private readonly Counter<long> _requests;

    public GenAiMetrics(IMeterFactory factory)
    {
        var meter = factory.Create(ServingTelemetry.MeterName);
        _duration = meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "Time from request arrival to its last byte", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.Request });
        _timeToFirstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from request arrival to the first output token", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.TimeToFirstToken });
        _timePerOutputToken = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Time per output token after the first", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.PerToken });
        _tokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Input and output tokens per request", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = LatencyBuckets.Tokens });
        _requests = meter.CreateCounter<long>("serving.requests", "{request}", "Requests by outcome: finish reason, or error type for failures");
    }

    public void Completed(string operation, string model, string finishReason, double seconds, double? timeToFirstToken, double? timePerOutputToken, int inputTokens, int outputTokens)
    {
        var tags = new TagList { { "gen_ai.operation.name", operation }, { "gen_ai.request.model", model } };
        _duration.Record(seconds, tags);
        if (timeToFirstToken is { } ttft)
        {
            _timeToFirstToken.Record(ttft, tags);
        }

        if (timePerOutputToken is { } tpot)
        {
            _timePerOutputToken.Record(tpot, tags);
        }

        var input = tags;
        input.Add("gen_ai.token.type", "input");
        _tokenUsage.Record(inputTokens, input);
        var output = tags;
        output.Add("gen_ai.token.type", "output");
        _tokenUsage.Record(outputTokens, output);
        tags.Add("finish_reason", finishReason);
        _requests.Add(1, tags);
    }

    public void Failed(string operation, string model, string errorType, double seconds)
    {
        var tags = new TagList { { "gen_ai.operation.name", operation }, { "gen_ai.request.model", model }, { "error.type", errorType } };
        _duration.Record(seconds, tags);
        _requests.Add(1, tags);
    }
}
