using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Tests.Engine;

public sealed class EngineMetricsTests
{
    [Fact]
    public void Instruments_report_tokens_steps_and_gauges()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var meters = new TestMeterFactory();
        var time = new FakeTimeProvider();
        using var runner = new CpuModelRunner(model, new KvCacheConfig(64, 16), new CpuRunnerOptions { MaxTokensPerStep = 512, MaxSequences = 64, Threads = 2 });
        using var engine = new LlmEngine(model, runner, new EngineConfig(), meters, time);
        var measurements = new Dictionary<string, double>();
        var counts = new Dictionary<string, int>();
        var last = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EngineMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value)
        {
            measurements[instrument.Name] = measurements.GetValueOrDefault(instrument.Name) + value;
            counts[instrument.Name] = counts.GetValueOrDefault(instrument.Name) + 1;
            last[instrument.Name] = value;
        }

        listener.SetMeasurementEventCallback<long>((i, v, _, _) => Record(i, v));
        listener.SetMeasurementEventCallback<int>((i, v, _, _) => Record(i, v));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => Record(i, v));
        listener.Start();

        var handles = new[] { 5, 9, 14 }.Select(n => engine.Submit(new GenerationRequest { PromptTokens = Enumerable.Range(3, n).ToList(), MaxTokens = 6, IgnoreEos = true })).ToArray();
        time.Advance(TimeSpan.FromSeconds(2));
        listener.RecordObservableInstruments();
        Assert.Equal(0, last["serving.engine.requests.running"]);
        while (handles.Any(h => !h.Completion.IsCompleted))
        {
            engine.Step();
        }

        listener.RecordObservableInstruments();
        Assert.Equal(18, measurements["serving.engine.tokens.generated"]);
        Assert.Equal(28, measurements["serving.engine.tokens.prompt"]);
        Assert.Equal(28 + 18 - 3, measurements["serving.engine.step.tokens"]);
        Assert.Equal(6, counts["serving.engine.step.duration"]);
        Assert.Equal(3, counts["serving.engine.request.queue_time"]);
        Assert.Equal(6, measurements["serving.engine.request.queue_time"], 6);
        Assert.Equal(64, last["serving.engine.kv_cache.blocks.total"]);
        Assert.Equal(0, last["serving.engine.kv_cache.blocks.used"]);
        Assert.True(last["serving.engine.prefix_cache.queries"] >= 28);
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
