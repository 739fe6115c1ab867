using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Serving.Server.Api.Errors;
using Serving.Server.Api.OpenAi;

namespace Serving.Server.Api.Http;

/// <summary>Writes JSON answers and OpenAI error bodies.</summary>
internal static class ApiResponses
{
    public static async Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted).ConfigureAwait(false);
    }

    public static Task WriteErrorAsync(HttpContext context, ApiException error)
    {
        if (error.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        return WriteJsonAsync(context, Body(error), OpenAiJson.Api.ErrorResponse, error.Status);
    }

    public static ErrorResponse Body(ApiException error) => new(new ErrorBody(error.Message, error.Type, error.Param, error.Code));
}
