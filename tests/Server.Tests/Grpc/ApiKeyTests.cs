using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Serving.Contracts.V1;
using Serving.Server.Tests.Api;
using ServingApi = Serving.Contracts.V1.Serving;

namespace Serving.Server.Tests.Grpc;

/// <summary>API keys on serving.v1: the <c>authorization</c> metadata, while health stays open.</summary>
public sealed class ApiKeyTests
{
    private const string Key = "test-key-123";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RateLimit_PerKey_AppliesToGrpc_AsResourceExhausted()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ApiKeys:0"] = Key, ["ApiKeys:1"] = "other-key", ["RateLimitPerMinute"] = "2" }, grpc: true);
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);
        var client = new ServingApi.ServingClient(channel);

        await client.TokenizeAsync(new TokenizeRequest { Text = "a" }, Bearer(Key), cancellationToken: Ct);
        await client.TokenizeAsync(new TokenizeRequest { Text = "a" }, Bearer(Key), cancellationToken: Ct);
        var limited = await Assert.ThrowsAsync<RpcException>(() => client.TokenizeAsync(new TokenizeRequest { Text = "a" }, Bearer(Key), cancellationToken: Ct).ResponseAsync);
        var other = await client.TokenizeAsync(new TokenizeRequest { Text = "a" }, Bearer("other-key"), cancellationToken: Ct);

        Assert.Equal(StatusCode.ResourceExhausted, limited.StatusCode);
        Assert.Contains("Rate limit", limited.Status.Detail, StringComparison.Ordinal);
        Assert.NotEmpty(other.TokenIds);
    }

    [Fact]
    public async Task ServingCalls_NeedTheKey_HealthDoesNot()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ApiKeys:0"] = Key }, grpc: true);
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);
        var client = new ServingApi.ServingClient(channel);

        var missing = await Assert.ThrowsAsync<RpcException>(() => client.ListModelsAsync(new ListModelsRequest(), cancellationToken: Ct).ResponseAsync);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => client.ListModelsAsync(new ListModelsRequest(), Bearer("wrong-key"), cancellationToken: Ct).ResponseAsync);
        var wrongStream = await Assert.ThrowsAsync<RpcException>(() => GrpcCalls.GenerateAsync(client, GrpcCalls.Text("Hi", 4), Bearer("wrong-key")));
        var models = await client.ListModelsAsync(new ListModelsRequest(), Bearer(Key), cancellationToken: Ct);
        var streamed = await GrpcCalls.GenerateAsync(client, GrpcCalls.Text("Hi", 4), Bearer(Key));
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Contains("didn't provide an API key", missing.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, wrongStream.StatusCode);
        Assert.Single(models.Models);
        Assert.Equal(4, streamed[^1].Usage.CompletionTokens);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Empty(server.Errors);
    }

    [Fact]
    public async Task RestRoutes_SentWithAGrpcContentType_StillNeedTheKey()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ApiKeys:0"] = Key }, grpc: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt":"Hi","max_tokens":4}""", System.Text.Encoding.UTF8, "application/grpc"),
        };

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };
}
