using Grpc.Net.Client;
using Serving.Server.Tests.Api;
using ServingApi = Serving.Contracts.V1.Serving;

namespace Serving.Server.Tests.Grpc;

/// <summary>One default-configured server with its gRPC port open, and a channel to it (h2c: an http address).</summary>
public sealed class GrpcServerFixture : IAsyncLifetime
{
    private TestServer? _server;
    private GrpcChannel? _channel;

    public TestServer Server => _server ?? throw new InvalidOperationException("not started");

    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("not started");

    public ServingApi.ServingClient Client => new(Channel);

    public async ValueTask InitializeAsync()
    {
        _server = await TestServer.StartAsync(grpc: true);
        _channel = GrpcChannel.ForAddress(_server.GrpcAddress!);
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
