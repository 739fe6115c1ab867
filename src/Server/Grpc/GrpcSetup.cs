using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Serving.Server.Hosting;

namespace Serving.Server.Grpc;

/// <summary>Registers and maps the gRPC API: <c>serving.v1.Serving</c>, <c>grpc.health.v1.Health</c> and server
/// reflection, served when <see cref="ServingOptions.GrpcPort"/> is set.</summary>
internal static partial class GrpcSetup
{
    public static IServiceCollection AddServingGrpc(this IServiceCollection services, ServingOptions options)
    {
        services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = (int)Math.Min(options.MaxRequestBodyBytes, int.MaxValue))
            .AddServiceOptions<ServingGrpcService>(service =>
            {
                // The first interceptor runs outermost, so the key check's refusals become statuses too.
                service.Interceptors.Add<GrpcErrorInterceptor>();
                service.Interceptors.Add<ApiKeyInterceptor>();
            });
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks(health =>
        {
            health.Services.Map(string.Empty, _ => true);
            health.Services.Map(Contracts.V1.Serving.Descriptor.FullName, _ => true);
        }).AddCheck<ModelHealthCheck>("model");
        return services;
    }

    public static WebApplication MapServingGrpc(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ServingOptions>>().Value.GrpcPort is null)
        {
            return app;
        }

        app.MapGrpcService<ServingGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.Lifetime.ApplicationStarted.Register(() => LogAddress(app));
        return app;
    }

    private static void LogAddress(WebApplication app)
    {
        // ServerApp binds the HTTP endpoint first and the gRPC one last, and Kestrel lists addresses in that order.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is { Count: > 0 })
        {
            LogGrpc(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Serving.Server"), addresses.Last());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "gRPC (h2c: serving.v1, health, reflection) on {Address}")]
    private static partial void LogGrpc(ILogger logger, string address);
}
