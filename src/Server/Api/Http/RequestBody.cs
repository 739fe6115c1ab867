using System.Text.Json;
using System.Text.Unicode;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Features;
using Serving.Server.Api.Errors;

namespace Serving.Server.Api.Http;

/// <summary>
/// Reads a JSON request body into its source-generated type and turns every way it can be wrong (empty, not JSON,
/// invalid UTF-8, too deep, a wrong type, an unknown field, too large) into a 4xx <see cref="ApiException"/> naming
/// the field where there is one.
/// </summary>
internal static partial class RequestBody
{
    public static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            // The body is bounded by Kestrel's limit; holding it whole lets invalid UTF-8 be refused up front (the
            // serializer defers that check for JsonElement fields to the first read, deep inside request handling).
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            if (!Utf8.IsValid(bytes))
            {
                throw ApiException.BadRequest("The request body is not valid UTF-8");
            }

            var value = JsonSerializer.Deserialize(bytes, type);
            return value ?? throw ApiException.BadRequest("The request body must be a JSON object");
        }
        catch (InvalidOperationException e) when (e.InnerException is System.Text.DecoderFallbackException)
        {
            throw ApiException.BadRequest("The request body holds an invalid Unicode escape (a lone surrogate)");
        }
        catch (JsonException e)
        {
            throw Describe(e);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            throw new ApiException(413, $"The request body is larger than the server's limit of {limit} bytes", code: "request_too_large");
        }
    }

    private static ApiException Describe(JsonException e)
    {
        var unknown = UnknownProperty().Match(e.Message);
        if (unknown.Success)
        {
            var name = unknown.Groups[1].Value;
            return ApiException.BadRequest($"Unrecognized request argument supplied: {name}", name, "unknown_parameter");
        }

        var path = e.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : null;
        if (e.Message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return ApiException.BadRequest("The request body is nested too deeply", path);
        }

        if (path is not null && e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return ApiException.BadRequest($"Invalid type or value for '{path}': expected {Expected(e.Message)}", path);
        }

        var detail = e.InnerException?.Message ?? e.Message;
        var at = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : string.Empty;
        return e.Path is null or "$" && e.Message.Contains("could not be converted", StringComparison.Ordinal)
            ? ApiException.BadRequest("The request body must be a JSON object")
            : ApiException.BadRequest($"The request body is not valid JSON{at}: {FirstSentence(detail)}", path);
    }

    private static string Expected(string message)
    {
        if (message.Contains("Int32", StringComparison.Ordinal) || message.Contains("Int64", StringComparison.Ordinal))
        {
            return "an integer";
        }

        if (message.Contains("Single", StringComparison.Ordinal) || message.Contains("Double", StringComparison.Ordinal))
        {
            return "a number";
        }

        if (message.Contains("Boolean", StringComparison.Ordinal))
        {
            return "a boolean";
        }

        if (message.Contains("System.String", StringComparison.Ordinal))
        {
            return "a string";
        }

        return message.Contains("List", StringComparison.Ordinal) ? "an array" : "an object of the documented shape";
    }

    private static string FirstSentence(string text)
    {
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? text[..(end + 1)] : text;
    }

    [GeneratedRegex("The JSON property '([^']*)' could not be mapped")]
    private static partial Regex UnknownProperty();
}
