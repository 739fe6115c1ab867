using Grpc.Core;

namespace Serving.Server.Grpc;

/// <summary>The gRPC status an <see cref="Api.Errors.ApiException"/>'s HTTP status stands for.</summary>
internal static class GrpcStatusCodes
{
    public static StatusCode For(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        404 => StatusCode.NotFound,
        413 or 429 => StatusCode.ResourceExhausted,
        503 => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };
}
