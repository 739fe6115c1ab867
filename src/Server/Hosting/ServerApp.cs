using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Serilog;
using Serving.Server.Api.Endpoints;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Api.Security;
using Serving.Server.Grpc;
using Serving.Server.Inference;
using Serving.Server.Telemetry;

namespace Serving.Server.Hosting;

/// <summary>Builds the web host of <c>serving serve</c>: Kestrel endpoints, services, middleware and routes.</summary>
internal static partial class ServerApp
{
    /// <summary>Builds the app. <paramref name="overrides"/> are configuration keys (<c>Serving:Port</c>, ...) from the
    /// command line; they win over appsettings.json and environment variables.</summary>
    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, Serilog.ILogger? logger = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(overrides);
        var options = builder.Configuration.GetSection(ServingOptions.Section).Get<ServingOptions>() ?? new ServingOptions();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger ?? ServerLogging.Create(options.LogFormat, options.Verbose), dispose: logger is null);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(options.DrainTimeoutSeconds + 15));
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        builder.Services.AddSingleton<InferenceService>();
        builder.Services.AddSingleton<StreamLimiter>();
        builder.Services.AddSingleton<ApiKeyVerifier>();
        builder.Services.AddServingGrpc(options);
        builder.Services.AddServingTelemetry();
        builder.Services.AddRateLimiter(limiter => ConfigureRateLimits(limiter, options));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            Listen(kestrel, options.Host, options.Port, HttpProtocols.Http1);
            if (options.GrpcPort is { } grpcPort)
            {
                Listen(kestrel, options.Host, grpcPort, HttpProtocols.Http2);
            }
        });

        var app = builder.Build();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseMiddleware<RequestTelemetryMiddleware>();
        app.UseStatusCodePages(WriteStatusAsync);
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseRateLimiter();
        app.MapGet("/health", ProbeEndpoints.Health);
        app.MapGet("/ready", ProbeEndpoints.ReadyAsync);
        app.MapGet("/version", ProbeEndpoints.VersionAsync);
        app.MapGet("/v1/models", ModelsEndpoints.ListAsync);
        app.MapGet("/v1/models/{id}", ModelsEndpoints.GetAsync);
        app.MapPost("/v1/completions", CompletionsEndpoint.HandleAsync);
        app.MapPost("/v1/chat/completions", ChatCompletionsEndpoint.HandleAsync);
        app.MapPost("/tokenize", TokenizeEndpoints.TokenizeAsync);
        app.MapPost("/detokenize", TokenizeEndpoints.DetokenizeAsync);
        app.MapServingGrpc();
        app.MapServingMetrics();
        app.Lifetime.ApplicationStarted.Register(() => LogAddresses(app));
        return app;
    }

    private static void Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols)
    {
        void Configure(ListenOptions listen) => listen.Protocols = protocols;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port, Configure);
        }
        else if (host is "*" or "0.0.0.0" or "")
        {
            kestrel.ListenAnyIP(port, Configure);
        }
        else if (IPAddress.TryParse(host, out var address))
        {
            kestrel.Listen(address, port, Configure);
        }
        else
        {
            throw new ArgumentException($"--host must be an IP address, localhost or 0.0.0.0, got '{host}'");
        }
    }

    private static void ConfigureRateLimits(RateLimiterOptions limiter, ServingOptions options)
    {
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.OnRejected = (context, token) =>
        {
            var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? (int)Math.Ceiling(after.TotalSeconds) : 60;
            var error = new ApiException(429, $"Rate limit reached: {options.RateLimitPerMinute} requests per minute", code: "rate_limit_exceeded", type: ErrorTypes.RateLimit) { RetryAfterSeconds = Math.Max(1, retry) };
            return new ValueTask(IsGrpc(context.HttpContext) ? GrpcRefusal.WriteAsync(context.HttpContext, error) : ApiResponses.WriteErrorAsync(context.HttpContext, error));
        };
        if (options.RateLimitPerMinute <= 0)
        {
            return;
        }

        limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            IsLimited(context.Request.Path)
                ? RateLimitPartition.GetFixedWindowLimiter(ClientKey.Get(context), _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RateLimitPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("open"));
    }

    private static bool IsLimited(PathString path) =>
        path.StartsWithSegments("/v1", StringComparison.Ordinal) || path.StartsWithSegments("/tokenize", StringComparison.Ordinal)
        || path.StartsWithSegments("/detokenize", StringComparison.Ordinal) || path.StartsWithSegments("/serving.v1.Serving", StringComparison.Ordinal);

    private static bool IsGrpc(HttpContext context) =>
        context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    private static Task WriteStatusAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var code = context.Response.StatusCode;
        var error = code switch
        {
            404 => new ApiException(404, $"Unknown route: {context.Request.Method} {context.Request.Path}", code: "unknown_url"),
            405 => new ApiException(405, $"Method {context.Request.Method} is not allowed on {context.Request.Path}", code: "method_not_allowed"),
            413 => new ApiException(413, "The request body is too large", code: "request_too_large"),
            _ => new ApiException(code, $"HTTP {code.ToString(CultureInfo.InvariantCulture)}", type: code >= 500 ? ErrorTypes.Server : ErrorTypes.InvalidRequest),
        };
        return ApiResponses.WriteErrorAsync(context, error);
    }

    private static void LogAddresses(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Serving.Server");
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            LogListening(logger, address);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on {Address}")]
    private static partial void LogListening(Microsoft.Extensions.Logging.ILogger logger, string address);
}
