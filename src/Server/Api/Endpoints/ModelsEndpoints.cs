using Serving.Server.Api.Http;
using Serving.Server.Api.OpenAi;
using Serving.Server.Inference;

namespace Serving.Server.Api.Endpoints;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>.</summary>
internal static class ModelsEndpoints
{
    public static Task ListAsync(HttpContext context, InferenceService service)
    {
        var model = service.Require(null);
        return ApiResponses.WriteJsonAsync(context, new ModelList([Card(model)]), OpenAiJson.Api.ModelList);
    }

    public static Task GetAsync(HttpContext context, InferenceService service, string id)
    {
        var model = service.Require(id);
        return ApiResponses.WriteJsonAsync(context, Card(model), OpenAiJson.Api.ModelCard);
    }

    private static ModelCard Card(Hosting.ServedModel model) => new(model.Name, model.Created, "serving", model.MaxModelLen);
}
