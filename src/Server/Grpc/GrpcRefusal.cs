using System.Globalization;
using Serving.Server.Api.Errors;

namespace Serving.Server.Grpc;

/// <summary>Refuses a gRPC call from HTTP middleware (the rate limiter runs before any gRPC code) as a trailers-only
/// gRPC response, so the client sees RESOURCE_EXHAUSTED rather than an HTTP status it maps to UNAVAILABLE.</summary>
internal static class GrpcRefusal
{
    public static Task WriteAsync(HttpContext context, ApiException error)
    {
        Telemetry.RequestTelemetry.Of(context)?.Failed(error.Code ?? error.Type, error.Message);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)GrpcStatusCodes.For(error.Status)).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(error.Message);
        if (error.RetryAfterSeconds is { } seconds)
        {
            response.Headers["retry-after"] = seconds.ToString(CultureInfo.InvariantCulture);
        }

        return response.CompleteAsync();
    }
}
