namespace Serving.Server.Api.Errors;

/// <summary>The <c>error.type</c> values the API answers with (OpenAI's names).</summary>
internal static class ErrorTypes
{
    public const string InvalidRequest = "invalid_request_error";
    public const string Authentication = "authentication_error";
    public const string RateLimit = "rate_limit_error";
    public const string Server = "server_error";
    public const string Unavailable = "service_unavailable";
}
