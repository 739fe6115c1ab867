using Grpc.Core;
using Grpc.Core.Interceptors;
using Serving.Server.Api.Security;

namespace Serving.Server.Grpc;

/// <summary>
/// API keys on serving.v1 calls: the <c>authorization: Bearer KEY</c> metadata, checked like the REST header (the
/// HTTP middleware lets gRPC methods through to here). Registered on the serving service only, so the health and
/// reflection services stay open. Every call shape is covered so that a new RPC cannot slip past the check.
/// </summary>
internal sealed class ApiKeyInterceptor : Interceptor
{
    private readonly ApiKeyVerifier _keys;

    public ApiKeyInterceptor(ApiKeyVerifier keys) => _keys = keys;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Verify(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Verify(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Verify(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Verify(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Verify(ServerCallContext context)
    {
        if (!_keys.Enabled)
        {
            return;
        }

        if (!_keys.TryVerify(context.RequestHeaders.GetValue("authorization"), out var clientKey, out var refusal))
        {
            throw refusal;
        }

        ClientKey.Set(context.GetHttpContext(), clientKey);
    }
}
