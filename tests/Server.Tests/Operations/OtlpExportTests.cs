using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serving.Server.Tests.Api;

namespace Serving.Server.Tests.Operations;

/// <summary>OTLP export configured only by the standard <c>OTEL_EXPORTER_OTLP_*</c> variables: a stand-in collector on
/// loopback receives the server's traces and metrics (OTLP/HTTP protobuf, whose strings are plain UTF-8).</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task StandardOtlpVariables_SendTracesAndMetricsToTheCollector()
    {
        var received = new ConcurrentDictionary<string, byte[]>();
        var collectorBuilder = WebApplication.CreateSlimBuilder();
        collectorBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = collectorBuilder.Build();
        collector.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.AddOrUpdate(signal, body.ToArray(), (_, old) => [.. old, .. body.ToArray()]);
            return Results.Ok();
        });
        await collector.StartAsync(TestContext.Current.CancellationToken);
        var endpoint = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        using var server = await ServerProcess.StartAsync([], new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_SERVICE_NAME"] = "serving-otlp-test",
        });
        await Sse.PostJsonAsync(server.Http, "/v1/completions", """{"prompt":"Once","max_tokens":3}""");

        bool Has(string signal, string text) => received.TryGetValue(signal, out var bytes) && Encoding.UTF8.GetString(bytes).Contains(text, StringComparison.Ordinal);
        Assert.True(await TestServer.EventuallyAsync(() => Has("traces", "gen_ai.operation.name") && Has("metrics", "gen_ai.server.time_to_first_token"), TimeSpan.FromSeconds(30)),
            $"collector received: {string.Join(", ", received.Keys)}");
        Assert.True(Has("traces", "first_token"), "no first_token event");
        Assert.True(Has("metrics", "serving.engine.requests.waiting"), "no engine metrics");
        Assert.True(Has("metrics", "serving-otlp-test"), "OTEL_SERVICE_NAME not honoured");
    }
}
