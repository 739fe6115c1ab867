using System.Diagnostics.Metrics;

namespace Serving.Scheduler.Engine;

/// <summary>
/// The engine's instruments (the telemetry layer exports them): gauges of requests running and waiting and of KV
/// blocks in use, counters of tokens, preemptions and prefix-cache lookups, histograms of step composition, step
/// time and queue time. Created through <see cref="IMeterFactory"/> so hosts and tests own their meters.
/// </summary>
public sealed class EngineMetrics
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "Serving.Engine";

    private readonly Counter<long> _promptTokens;
    private readonly Counter<long> _generatedTokens;
    private readonly Counter<long> _preemptions;
    private readonly Histogram<int> _tokensPerStep;
    private readonly Histogram<int> _sequencesPerStep;
    private readonly Histogram<double> _stepDuration;
    private readonly Histogram<double> _queueTime;
    private readonly Histogram<double> _interToken;

    /// <summary>Creates the instruments on a meter from <paramref name="factory"/>; the gauges read
    /// <paramref name="engine"/>.</summary>
    public EngineMetrics(IMeterFactory factory, LlmEngine engine)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(engine);
        var meter = factory.Create(MeterName);
        meter.CreateObservableGauge("serving.engine.requests.running", () => engine.Running, "{request}", "Requests being stepped");
        meter.CreateObservableGauge("serving.engine.requests.waiting", () => engine.Waiting, "{request}", "Requests waiting for admission");
        meter.CreateObservableGauge("serving.engine.kv_cache.blocks.used", () => engine.UsedBlocks, "{block}", "KV blocks held by requests");
        meter.CreateObservableGauge("serving.engine.kv_cache.blocks.total", () => engine.TotalBlocks, "{block}", "KV blocks in the pool");
        meter.CreateObservableGauge("serving.engine.kv_cache.usage_ratio", () => engine.TotalBlocks == 0 ? 0.0 : (double)engine.UsedBlocks / engine.TotalBlocks, "1", "Fraction of KV blocks held by requests");
        meter.CreateObservableCounter("serving.engine.prefix_cache.queries", () => engine.PrefixCacheQueryTokens, "{token}", "Prompt tokens looked up in the prefix cache");
        meter.CreateObservableCounter("serving.engine.prefix_cache.hits", () => engine.PrefixCacheHitTokens, "{token}", "Prompt tokens found in the prefix cache");
        _promptTokens = meter.CreateCounter<long>("serving.engine.tokens.prompt", "{token}", "Prompt tokens of finished requests");
        _generatedTokens = meter.CreateCounter<long>("serving.engine.tokens.generated", "{token}", "Generated tokens");
        _preemptions = meter.CreateCounter<long>("serving.engine.preemptions", "{preemption}", "Requests preempted for lack of KV blocks");
        _tokensPerStep = meter.CreateHistogram<int>("serving.engine.step.tokens", "{token}", "Tokens computed per step");
        _sequencesPerStep = meter.CreateHistogram<int>("serving.engine.step.sequences", "{request}", "Requests per step");
        _stepDuration = meter.CreateHistogram<double>("serving.engine.step.duration", "s", "Time of one engine step");
        _queueTime = meter.CreateHistogram<double>("serving.engine.request.queue_time", "s", "Time from submission to first scheduling");
        _interToken = meter.CreateHistogram<double>("serving.engine.inter_token_latency", "s", "Time between consecutive generated tokens of a request");
    }

    internal void Step(int tokens, int sequences, double seconds, long preemptions, long generated)
    {
        _tokensPerStep.Record(tokens);
        _sequencesPerStep.Record(sequences);
        _stepDuration.Record(seconds);
        if (preemptions > 0)
        {
            _preemptions.Add(preemptions);
        }

        if (generated > 0)
        {
            _generatedTokens.Add(generated);
        }
    }

    internal void Admitted(double queueSeconds) => _queueTime.Record(queueSeconds);

    internal void InterToken(double seconds) => _interToken.Record(seconds);

    internal void Finished(int promptTokens) => _promptTokens.Add(promptTokens);
}
