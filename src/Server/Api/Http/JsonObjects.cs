using System.Text.Json;

namespace Serving.Server.Api.Http;

/// <summary>Turns JSON request values (tool calls, chat_template_kwargs) into the plain .NET values templates read:
/// dictionaries, lists, strings, longs, doubles, booleans and null.</summary>
internal static class JsonObjects
{
    public static object? ToValue(JsonElement element, string param) => element.ValueKind switch
    {
        JsonValueKind.Object => ToDictionary(element, param),
        JsonValueKind.Array => element.EnumerateArray().Select(e => ToValue(e, param)).ToList(),
        JsonValueKind.String => JsonStrings.Get(element, param),
        JsonValueKind.Number => element.TryGetInt64(out var integer) ? integer : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static Dictionary<string, object?> ToDictionary(JsonElement element, string param)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            result[property.Name] = ToValue(property.Value, param);
        }

        return result;
    }
}
