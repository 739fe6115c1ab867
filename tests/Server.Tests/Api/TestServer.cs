using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serving.Server.Hosting;

namespace Serving.Server.Tests.Api;

/// <summary>
/// The real server (Kestrel on a loopback port, the real engine and model) started inside the test process, so
/// tests can talk to it over HTTP and still look at the engine (KV blocks) and at every log event it wrote.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LogCollector _logs;

    private TestServer(WebApplication app, LogCollector logs, Uri baseAddress, Uri? grpcAddress)
    {
        _app = app;
        _logs = logs;
        BaseAddress = baseAddress;
        GrpcAddress = grpcAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri BaseAddress { get; }

    public Uri? GrpcAddress { get; }

    public HttpClient Http { get; }

    internal ModelHost Host => _app.Services.GetRequiredService<ModelHost>();

    /// <summary>Log events at error level or above, rendered.</summary>
    public IReadOnlyList<string> Errors => [.. _logs.Events.Where(e => e.Level >= LogEventLevel.Error).Select(e => e.RenderMessage() + " " + e.Exception)];

    /// <summary>Starts a server on the stories260K fixture; <paramref name="settings"/> are extra
    /// <c>Serving:*</c> configuration keys (without the prefix).</summary>
    public static async Task<TestServer> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool grpc = false, string? model = null)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Serving:Model"] = model ?? Path.Combine(Fixtures.Stories260K, "stories260K.gguf"),
            ["Serving:Port"] = "0",
            ["Serving:Threads"] = "2",
            ["Serving:KvCacheTokens"] = "16384",
        };
        if (grpc)
        {
            overrides["Serving:GrpcPort"] = "0";
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides["Serving:" + key] = value;
        }

        var logs = new LogCollector();
        var logger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(logs).CreateLogger();
        var app = ServerApp.Build(overrides, logger);
        await app.StartAsync(TestContext.Current.CancellationToken);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        var server = new TestServer(app, logs, new Uri(addresses[0]), grpc ? new Uri(addresses[1]) : null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        while (server.Host.State != ServingState.Ready)
        {
            Assert.NotEqual(ServingState.Failed, server.Host.State);
            await Task.Delay(20, timeout.Token);
        }

        return server;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes (a bound on
    /// waiting for the engine thread, not a timing assertion).</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private sealed class LogCollector : ILogEventSink
    {
        public ConcurrentQueue<LogEvent> Events { get; } = new();

        public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
    }
}
