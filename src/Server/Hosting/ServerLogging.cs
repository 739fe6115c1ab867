using System.Globalization;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Serving.Server.Hosting;

/// <summary>
/// The server's Serilog pipeline behind <c>ILogger</c>: human-readable lines locally, compact JSON (one object per
/// line) in containers (<c>Serving__LogFormat=json</c>). Request lines carry the request id and trace id (from ASP.NET
/// Core's logging scope and the current activity); everything goes to stderr.
/// </summary>
internal static class ServerLogging
{
    public static Serilog.ILogger Create(string format, bool verbose)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext();
        return (format.ToUpperInvariant() switch
        {
            "JSON" => configuration.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose),
            "TEXT" => configuration.WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{RequestSuffix}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose,
                formatProvider: CultureInfo.InvariantCulture).Enrich.With<RequestSuffixEnricher>(),
            _ => throw new ArgumentException($"Serving:LogFormat must be 'text' or 'json', got '{format}'"),
        }).CreateLogger();
    }

    /// <summary>Adds " (request R, trace T)" to text lines written inside a request, nothing elsewhere.</summary>
    private sealed class RequestSuffixEnricher : Serilog.Core.ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, Serilog.Core.ILogEventPropertyFactory propertyFactory)
        {
            var suffix = logEvent.Properties.TryGetValue("RequestId", out var id) && id is ScalarValue { Value: string requestId }
                ? logEvent.TraceId is { } trace ? $" (request {requestId}, trace {trace})" : $" (request {requestId})"
                : string.Empty;
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("RequestSuffix", suffix));
        }
    }
}
