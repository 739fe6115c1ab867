using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Serving.Server.Api.Errors;
using Serving.Server.Hosting;

namespace Serving.Server.Api.Security;

/// <summary>
/// Checks <c>Authorization: Bearer KEY</c> values against the configured API keys, for the HTTP middleware and the gRPC
/// interceptor alike. Keys are compared as SHA-256 hashes in constant time so response timing does not reveal how much
/// of a key matched.
/// </summary>
internal sealed class ApiKeyVerifier
{
    private const string Scheme = "Bearer ";
    private readonly byte[][] _keys;

    public ApiKeyVerifier(IOptions<ServingOptions> options) =>
        _keys = [.. options.Value.ApiKeys.Where(k => k.Length > 0).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];

    /// <summary>Whether keys are configured; without them every request is let through.</summary>
    public bool Enabled => _keys.Length > 0;

    /// <summary>Checks an authorization value. On success <paramref name="clientKey"/> names the key (a hash prefix)
    /// for per-key limits; otherwise <paramref name="refusal"/> is the 401 to answer with.</summary>
    public bool TryVerify(string? authorization, [NotNullWhen(true)] out string? clientKey, [NotNullWhen(false)] out ApiException? refusal)
    {
        clientKey = null;
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            refusal = Refusal("You didn't provide an API key. Provide it in an Authorization header: 'Authorization: Bearer YOUR_KEY'.");
            return false;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim()));
        var match = false;
        foreach (var known in _keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, known);
        }

        if (!match)
        {
            refusal = Refusal("Incorrect API key provided.");
            return false;
        }

        clientKey = "key:" + Convert.ToHexString(hash, 0, 8);
        refusal = null;
        return true;
    }

    private static ApiException Refusal(string message) => new(401, message, code: "invalid_api_key", type: ErrorTypes.Authentication);
}
