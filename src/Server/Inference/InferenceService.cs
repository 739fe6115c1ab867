using Microsoft.Extensions.Options;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;
using Serving.Server.Api.Errors;
using Serving.Server.Hosting;

namespace Serving.Server.Inference;

/// <summary>What the REST and gRPC front ends share: finding the served model, admitting requests to its engine under
/// the waiting-queue limit, and aborting them.</summary>
internal sealed class InferenceService
{
    private readonly ModelHost _host;
    private readonly ServingOptions _options;

    public InferenceService(ModelHost host, IOptions<ServingOptions> options)
    {
        _host = host;
        _options = options.Value;
    }

    public ServingOptions Options => _options;

    /// <summary>The served model, when the server is ready; <paramref name="requested"/> (the request's
    /// <c>model</c>) must name it when given.</summary>
    /// <exception cref="ApiException">503 while loading, draining or failed; 404 for another model name.</exception>
    public ServedModel Require(string? requested)
    {
        var model = _host.Model;
        var state = _host.State;
        if (state != ServingState.Ready || model is null)
        {
            var why = state switch
            {
                ServingState.Loading => "the model is still loading",
                ServingState.Draining => "the server is shutting down",
                _ => "the server is not able to serve requests",
            };
            throw new ApiException(503, $"Service unavailable: {why}", code: "service_unavailable", type: ErrorTypes.Unavailable) { RetryAfterSeconds = 5 };
        }

        if (requested is not null && !string.Equals(requested, model.Name, StringComparison.Ordinal))
        {
            throw new ApiException(404, $"The model '{Shorten(requested)}' does not exist. This server serves '{model.Name}'.", "model", "model_not_found");
        }

        return model;
    }

    /// <summary>Admits <paramref name="n"/> samples of each request (all or none), or refuses with 429 when the
    /// waiting queue is full.</summary>
    public IReadOnlyList<RequestHandle> Submit(ServedModel model, IReadOnlyList<GenerationRequest> requests, int n)
    {
        var engine = model.Engine;
        if (engine.Waiting + (requests.Count * n) > _options.MaxWaitingRequests)
        {
            throw new ApiException(429, $"The server is at capacity ({engine.Waiting} requests waiting); retry later", code: "queue_full", type: ErrorTypes.RateLimit) { RetryAfterSeconds = 1 };
        }

        var handles = new List<RequestHandle>(requests.Count * n);
        try
        {
            foreach (var request in requests)
            {
                handles.AddRange(engine.SubmitSamples(request, n));
            }
        }
        catch (ArgumentException e)
        {
            Abort(model, handles);
            throw ApiException.BadRequest(e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message);
        }

        return handles;
    }

    public static void Abort(ServedModel model, IEnumerable<RequestHandle> handles)
    {
        foreach (var handle in handles)
        {
            if (!handle.Completion.IsCompleted)
            {
                model.Engine.Abort(handle.Id);
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "…");
}
