using Grpc.AspNetCore.Server;
using Serving.Server.Api.Http;

namespace Serving.Server.Api.Security;

/// <summary>
/// Bearer API keys on the inference routes (everything but the probes and <c>/version</c>), when keys are
/// configured. gRPC methods are let through: their interceptor checks the same keys, so that the gRPC health service
/// can stay open and refusals come back as gRPC statuses.
/// </summary>
internal sealed class ApiKeyMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ApiKeyVerifier _keys;

    public ApiKeyMiddleware(RequestDelegate next, ApiKeyVerifier keys)
    {
        _next = next;
        _keys = keys;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (!_keys.Enabled || IsOpen(context.Request.Path))
        {
            return _next(context);
        }

        if (IsGrpcMethod(context))
        {
            // Refusal is the interceptor's job; a valid key still names the client for rate limits.
            if (_keys.TryVerify(context.Request.Headers.Authorization.ToString(), out var grpcClient, out _))
            {
                ClientKey.Set(context, grpcClient);
            }

            return _next(context);
        }

        if (!_keys.TryVerify(context.Request.Headers.Authorization.ToString(), out var clientKey, out var refusal))
        {
            return ApiResponses.WriteErrorAsync(context, refusal);
        }

        ClientKey.Set(context, clientKey);
        return _next(context);
    }

    private static bool IsOpen(PathString path) =>
        path.Equals("/health", StringComparison.Ordinal) || path.Equals("/ready", StringComparison.Ordinal)
        || path.Equals("/version", StringComparison.Ordinal) || path.Equals("/metrics", StringComparison.Ordinal);

    // The routed endpoint, not the content type, decides: a REST route sent with a gRPC content type must still be
    // checked here.
    private static bool IsGrpcMethod(HttpContext context) =>
        context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true
        && context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null;
}
