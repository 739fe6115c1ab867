using System.Reflection;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Api.OpenAi;
using Serving.Server.Hosting;

namespace Serving.Server.Api.Endpoints;

/// <summary><c>/health</c> (the process answers), <c>/ready</c> (a model is loaded and the server is not draining) and
/// <c>/version</c>.</summary>
internal static class ProbeEndpoints
{
    private static readonly string Version =
        typeof(ProbeEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static IResult Health() => Results.Text("{\"status\":\"ok\"}", "application/json");

    public static Task ReadyAsync(HttpContext context, ModelHost host)
    {
        var state = host.State;
        if (state == ServingState.Ready)
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("{\"status\":\"ready\"}", context.RequestAborted);
        }

        var why = state switch
        {
            ServingState.Loading => "loading",
            ServingState.Draining => "draining",
            _ => "failed",
        };
        return ApiResponses.WriteErrorAsync(context, new ApiException(503, $"not ready: {why}", code: why, type: ErrorTypes.Unavailable));
    }

    public static Task VersionAsync(HttpContext context) =>
        ApiResponses.WriteJsonAsync(context, new VersionResponse(Version), OpenAiJson.Api.VersionResponse);
}
