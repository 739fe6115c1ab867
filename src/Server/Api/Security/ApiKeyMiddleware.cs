using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Hosting;

namespace Serving.Server.Api.Security;

/// <summary>
/// Bearer API keys on the inference routes (everything but the probes and <c>/version</c>), when keys are
/// configured. Keys are compared in constant time so response timing does not reveal how much of a key matched.
/// </summary>
internal sealed class ApiKeyMiddleware
{
    private readonly RequestDelegate _next;
    private readonly byte[][] _keys;

    public ApiKeyMiddleware(RequestDelegate next, IOptions<ServingOptions> options)
    {
        _next = next;
        _keys = [.. options.Value.ApiKeys.Where(k => k.Length > 0).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (_keys.Length == 0 || IsOpen(context.Request.Path))
        {
            return _next(context);
        }

        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return Refuse(context, "You didn't provide an API key. Provide it in an Authorization header: 'Authorization: Bearer YOUR_KEY'.");
        }

        var key = header[scheme.Length..].Trim();
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var match = false;
        foreach (var known in _keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, known);
        }

        if (!match)
        {
            return Refuse(context, "Incorrect API key provided.");
        }

        ClientKey.Set(context, "key:" + Convert.ToHexString(hash, 0, 8));
        return _next(context);
    }

    private static bool IsOpen(PathString path) =>
        path.Equals("/health", StringComparison.Ordinal) || path.Equals("/ready", StringComparison.Ordinal)
        || path.Equals("/version", StringComparison.Ordinal) || path.Equals("/metrics", StringComparison.Ordinal);

    private static Task Refuse(HttpContext context, string message) =>
        ApiResponses.WriteErrorAsync(context, new ApiException(401, message, code: "invalid_api_key", type: ErrorTypes.Authentication));
}
