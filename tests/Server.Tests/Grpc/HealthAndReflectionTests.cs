using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Serving.Server.Tests.Api;

namespace Serving.Server.Tests.Grpc;

/// <summary>The standard grpc.health.v1 and server reflection services beside serving.v1.</summary>
public sealed class HealthAndReflectionTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("")]
    [InlineData("serving.v1.Serving")]
    public async Task Health_IsServing_OnceTheModelIsReady(string service)
    {
        var health = new Health.HealthClient(fixture.Channel);

        var response = await health.CheckAsync(new HealthCheckRequest { Service = service }, cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Health_IsNotServing_WhileTheServerDrains()
    {
        await using var server = await TestServer.StartAsync(grpc: true);
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);
        var health = new Health.HealthClient(channel);

        server.Host.Drain();
        var response = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, response.Status);
    }

    [Fact]
    public async Task Reflection_ListsTheServices()
    {
        var reflection = new ServerReflection.ServerReflectionClient(fixture.Channel);
        using var call = reflection.ServerReflectionInfo(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty }, Ct);
        await call.RequestStream.CompleteAsync();

        var services = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync(Ct))
        {
            services.AddRange(response.ListServicesResponse.Service.Select(s => s.Name));
        }

        Assert.Contains("serving.v1.Serving", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }
}
