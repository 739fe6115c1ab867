using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Serving.Server.Api.Errors;

using Serving.Server.Telemetry;

namespace Serving.Server.Grpc;

/// <summary>
/// The gRPC edge's last line, like <c>ErrorHandlingMiddleware</c> for REST: an <see cref="ApiException"/> becomes its
/// status (with the field at fault and the error code in trailers), a call the client cancelled ends quietly as
/// CANCELLED, and anything else is logged and answered with INTERNAL and a message that gives nothing away.
/// </summary>
internal sealed partial class GrpcErrorInterceptor : Interceptor
{
    private readonly ILogger<GrpcErrorInterceptor> _logger;

    public GrpcErrorInterceptor(ILogger<GrpcErrorInterceptor> logger) => _logger = logger;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
    }

    private RpcException Translate(Exception exception, ServerCallContext context)
    {
        var telemetry = Telemetry(context);
        switch (exception)
        {
            case ApiException e:
                telemetry?.Failed(e.Code ?? e.Type, e.Message);
                LogRefused(context.Method, e.Status, e.Message);
                return new RpcException(new Status(GrpcStatusCodes.For(e.Status), e.Message), Trailers(e));
            case OperationCanceledException or IOException when context.CancellationToken.IsCancellationRequested:
                telemetry?.Failed("client_disconnected", "the call was cancelled");
                LogCancelled(context.Method);
                return new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
            default:
                telemetry?.Failed("internal_error", "internal error");
                LogFailed(exception, context.Method);
                return new RpcException(new Status(StatusCode.Internal, "The server had an error while processing your request."));
        }
    }

    /// <summary>The call's request telemetry; none when the call is not hosted by ASP.NET Core (unit tests drive the
    /// interceptor with a bare <see cref="ServerCallContext"/>, whose <c>GetHttpContext</c> throws).</summary>
    private static RequestTelemetry? Telemetry(ServerCallContext context)
    {
        try
        {
            return RequestTelemetry.Of(context.GetHttpContext());
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static Metadata Trailers(ApiException e)
    {
        var trailers = new Metadata();
        if (e.Param is { } param)
        {
            trailers.Add("error-param", param);
        }

        if (e.Code is { } code)
        {
            trailers.Add("error-code", code);
        }

        if (e.RetryAfterSeconds is { } seconds)
        {
            trailers.Add("retry-after", seconds.ToString(CultureInfo.InvariantCulture));
        }

        return trailers;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method}: refused with {Status}: {Reason}")]
    private partial void LogRefused(string method, int status, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method}: the client cancelled the call; its requests were aborted")]
    private partial void LogCancelled(string method);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method}: call failed")]
    private partial void LogFailed(Exception exception, string method);
}
