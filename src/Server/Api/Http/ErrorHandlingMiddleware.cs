using Serving.Server.Api.Errors;

namespace Serving.Server.Api.Http;

/// <summary>
/// The API's last line: an <see cref="ApiException"/> becomes its error JSON; a client that went away ends quietly;
/// anything else is logged and answered with a 500 that carries no stack trace or internal detail. Once a stream has
/// started, the only thing left to do on failure is to end it.
/// </summary>
internal sealed partial class ErrorHandlingMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger<ErrorHandlingMiddleware> _logger;

    public ErrorHandlingMiddleware(RequestDelegate next, ILogger<ErrorHandlingMiddleware> logger)
    {
        _next = next;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            LogRefused(context.Request.Path, e.Status, e.Message);
            await ApiResponses.WriteErrorAsync(context, e).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            LogClientGone(context.Request.Path);
        }
        catch (Exception e)
        {
            LogFailed(e, context.Request.Path);
            if (!context.Response.HasStarted)
            {
                await ApiResponses.WriteErrorAsync(context, new ApiException(500, "The server had an error while processing your request.", code: "internal_error", type: ErrorTypes.Server)).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Path}: refused with {Status}: {Reason}")]
    private partial void LogRefused(string path, int status, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Path}: the client disconnected; its request was aborted")]
    private partial void LogClientGone(string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path}: request failed")]
    private partial void LogFailed(Exception exception, string path);
}
