using Microsoft.Extensions.Diagnostics.HealthChecks;
using Serving.Server.Hosting;

namespace Serving.Server.Grpc;

/// <summary>What the gRPC health service reports: SERVING once the model is ready, NOT_SERVING while it loads, while
/// the server drains and after a failure — the same answer as <c>/ready</c>.</summary>
internal sealed class ModelHealthCheck : IHealthCheck
{
    private readonly ModelHost _host;

    public ModelHealthCheck(ModelHost host) => _host = host;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_host.State == ServingState.Ready ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(_host.State.ToString()));
}
