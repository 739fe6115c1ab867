using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;

namespace Serving.Server.Telemetry;

/// <summary>
/// Starts a <see cref="RequestTelemetry"/> for every inference request before authentication and rate limiting, so
/// requests refused there (401, 429) are counted as failures too, under their error type; the endpoint completes it on
/// success.
/// </summary>
internal sealed class RequestTelemetryMiddleware
{
    private readonly RequestDelegate _next;
    private readonly GenAiMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _logPrompts;

    public RequestTelemetryMiddleware(RequestDelegate next, GenAiMetrics metrics, TimeProvider time, ILoggerFactory loggers, Microsoft.Extensions.Options.IOptions<Hosting.ServingOptions> options)
    {
        _logger = loggers.CreateLogger("Serving.Server.Requests");
        _logPrompts = options.Value.LogPrompts;
        _next = next;
        _metrics = metrics;
        _time = time;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var operation = Operation(context.Request.Path);
        if (operation is null)
        {
            await _next(context).ConfigureAwait(false);
            return;
        }

        var telemetry = RequestTelemetry.Start(context, _metrics, _time, operation, _logger, _logPrompts);
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            telemetry.Failed(e.Code ?? e.Type, e.Message);
            throw;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            telemetry.Failed("client_disconnected", "the client disconnected");
            throw;
        }
        catch (Exception)
        {
            telemetry.Failed("internal_error", "internal error");
            throw;
        }

        if (context.Response.StatusCode >= 400)
        {
            telemetry.Failed(ApiResponses.ErrorCode(context) ?? context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), "refused");
        }
    }

    private static string? Operation(PathString path) =>
        path.Equals("/v1/chat/completions", StringComparison.Ordinal) ? "chat"
        : path.Equals("/v1/completions", StringComparison.Ordinal) || path.Equals("/serving.v1.Serving/Generate", StringComparison.Ordinal)
            || path.Equals("/serving.v1.Serving/Complete", StringComparison.Ordinal) ? "text_completion"
        : null;
}
