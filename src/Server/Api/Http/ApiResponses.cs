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

    private const string ErrorItem = "serving.error-code";

    /// <summary>The error code of the error answer written for this request, if any (for telemetry).</summary>
    public static string? ErrorCode(HttpContext context) => context.Items.TryGetValue(ErrorItem, out var code) ? code as string : null;

    public static Task WriteErrorAsync(HttpContext context, ApiException error)
    {
        context.Items[ErrorItem] = error.Code ?? error.Type;
        if (error.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        return WriteJsonAsync(context, Body(error), OpenAiJson.Api.ErrorResponse, error.Status);
    }

    public static ErrorResponse Body(ApiException error) => new(new ErrorBody(error.Message, error.Type, error.Param, error.Code));
}
