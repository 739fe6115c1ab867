namespace Serving.Server.Tests.Api;

/// <summary>One default-configured server on the stories260K fixture, shared by the test classes that only send
/// ordinary requests.</summary>
public sealed class StoriesServerFixture : IAsyncLifetime
{
    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _server = await TestServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
