namespace Serving.Server.Api.Errors;

/// <summary>A request the API refuses, with the HTTP status and OpenAI error fields it answers with. Thrown by request
/// validation and turned into error JSON (or a gRPC status) at the edge.</summary>
internal sealed class ApiException : Exception
{
    public ApiException(int status, string message, string? param = null, string? code = null, string type = ErrorTypes.InvalidRequest)
        : base(message)
    {
        Status = status;
        Param = param;
        Code = code;
        Type = type;
    }

    public ApiException()
        : this(500, "internal error")
    {
    }

    public ApiException(string message)
        : this(400, message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = 400;
        Type = ErrorTypes.InvalidRequest;
    }

    /// <summary>HTTP status code.</summary>
    public int Status { get; }

    /// <summary>The request field at fault, when one is.</summary>
    public string? Param { get; }

    /// <summary>Machine-readable code (<c>model_not_found</c>, <c>invalid_api_key</c>, ...).</summary>
    public string? Code { get; }

    /// <summary>OpenAI error type.</summary>
    public string Type { get; }

    /// <summary>Seconds a client should wait before retrying (429, 503), when known.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);

    public static ApiException Unsupported(string param) =>
        new(400, $"'{param}' is not supported by this server", param, "unsupported_parameter");
}
