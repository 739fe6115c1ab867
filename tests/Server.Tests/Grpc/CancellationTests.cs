using Grpc.Core;
using Grpc.Net.Client;
using Serving.Contracts.V1;
using Serving.Server.Tests.Api;
using ServingApi = Serving.Contracts.V1.Serving;

namespace Serving.Server.Tests.Grpc;

/// <summary>A client that cancels a Generate call mid-stream: its requests are aborted and their KV blocks freed,
/// without an error in the server's log.</summary>
public sealed class CancellationTests
{
    [Fact]
    public async Task CancellingGenerate_MidStream_AbortsTheRequests_AndFreesTheirBlocks()
    {
        await using var server = await TestServer.StartAsync(grpc: true);
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);
        var client = new ServingApi.ServingClient(channel);
        // Long, wide and with 20 alternatives per token: far more than the HTTP/2 window holds while the client is not
        // reading, so the server is still generating (held back by the full stream) when the call is cancelled.
        var request = new GenerateRequest { Text = new TextPrompt { Text = "Once upon a time" }, MaxTokens = 400, IgnoreEos = true, N = 8, Logprobs = 20, Seed = 7 };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        using var call = client.Generate(request, cancellationToken: cancel.Token);

        var received = 0;
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancel.Token))
            {
                Assert.Null(message.Usage);
                if (++received == 3)
                {
                    Assert.True(server.Host.Model!.Engine.UsedBlocks > 0, "the requests hold KV blocks while they run");
                    await cancel.CancelAsync();
                }
            }
        });

        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        Assert.True(await TestServer.EventuallyAsync(() => server.Host.Model!.Engine.UsedBlocks == 0), "the aborted requests' KV blocks are freed");
        Assert.Empty(server.Errors);
    }
}
