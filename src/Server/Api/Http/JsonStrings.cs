using System.Text.Json;
using Serving.Server.Api.Errors;

namespace Serving.Server.Api.Http;

/// <summary>Reads strings out of <see cref="JsonElement"/> fields, which the serializer leaves unchecked until read:
/// an escaped lone surrogate (<c>"\ud800"</c>) is a 400 naming the field, not an exception deep in a handler.</summary>
internal static class JsonStrings
{
    public static string Get(JsonElement element, string param)
    {
        try
        {
            return element.GetString() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            throw ApiException.BadRequest($"'{param}' holds an invalid Unicode escape (a lone surrogate)", param);
        }
    }
}
