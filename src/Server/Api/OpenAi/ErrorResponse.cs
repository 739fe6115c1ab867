using System.Text.Json.Serialization;

namespace Serving.Server.Api.OpenAi;

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
internal sealed record ErrorResponse(ErrorBody Error);

/// <summary>The fields of an OpenAI error; param and code are written as null when absent, as OpenAI does.</summary>
internal sealed record ErrorBody(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);
