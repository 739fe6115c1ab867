using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serving.Scheduler.Engine;

namespace Serving.Server.Telemetry;

/// <summary>
/// OpenTelemetry for the server: the engine's and the GenAI instruments, exported at <c>GET /metrics</c> in Prometheus
/// text format and, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, over OTLP (the exporter reads the standard
/// <c>OTEL_EXPORTER_OTLP_*</c> variables itself); traces of every request (ASP.NET Core's server span, which honours
/// W3C <c>traceparent</c>, carrying the GenAI attributes and request events) over OTLP.
/// </summary>
internal static class TelemetrySetup
{
    public static void AddServingTelemetry(this IServiceCollection services)
    {
        services.AddSingleton<GenAiMetrics>();
        var otlp = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : "serving"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(EngineMetrics.MeterName, ServingTelemetry.MeterName)
                    .AddView("serving.engine.step.duration", Buckets(LatencyBuckets.Step))
                    .AddView("serving.engine.request.queue_time", Buckets(LatencyBuckets.Request))
                    .AddView("serving.engine.inter_token_latency", Buckets(LatencyBuckets.PerToken))
                    .AddView("serving.engine.step.tokens", Buckets([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]))
                    .AddView("serving.engine.step.sequences", Buckets([1, 2, 4, 8, 16, 32, 64, 128, 256, 512]))
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation().AddSource(ServingTelemetry.ActivitySourceName);
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });
    }

    public static void MapServingMetrics(this WebApplication app) => app.MapPrometheusScrapingEndpoint("/metrics");

    private static ExplicitBucketHistogramConfiguration Buckets(double[] boundaries) => new() { Boundaries = boundaries };
}
