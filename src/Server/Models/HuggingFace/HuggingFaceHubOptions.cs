using System.Text;

namespace Serving.Server.Models.HuggingFace;

/// <summary>Where the Hub is, where its files are cached, and how to talk to it. <see cref="FromEnvironment()"/> reads
/// the same environment variables huggingface_hub does, so both share one cache.</summary>
internal sealed record HuggingFaceHubOptions
{
    /// <summary>The public Hub.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    /// <summary>The Hub (or a mirror); <c>HF_ENDPOINT</c>.</summary>
    public Uri Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>The hub cache: <c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>.</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory(Environment.GetEnvironmentVariable);

    /// <summary>Access token for gated and private repositories (<c>HF_TOKEN</c>), sent as <c>Authorization: Bearer</c>.</summary>
    public string? Token { get; init; }

    /// <summary>Branch, tag or commit to resolve.</summary>
    public string Revision { get; init; } = "main";

    /// <summary>Use the cache only and never touch the network (<c>HF_HUB_OFFLINE=1</c>).</summary>
    public bool Offline { get; init; }

    /// <summary>Tries per request or file transfer before a transient failure (dropped connection, 5xx, 429) is final.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Wait before the first retry; doubled after each further failure. Tests set zero.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Options from the process environment.</summary>
    public static HuggingFaceHubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Options from <paramref name="getVariable"/>, for tests.</summary>
    internal static HuggingFaceHubOptions FromEnvironment(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        var endpoint = NonEmpty(getVariable("HF_ENDPOINT"));
        return new HuggingFaceHubOptions
        {
            Endpoint = endpoint is null ? DefaultEndpoint : ParseEndpoint(endpoint),
            CacheDirectory = DefaultCacheDirectory(getVariable),
            Token = NonEmpty(getVariable("HF_TOKEN")?.Trim()) ?? ReadTokenFile(getVariable),
            Offline = IsTrue(getVariable("HF_HUB_OFFLINE")),
        };
    }

    private static Uri ParseEndpoint(string value) =>
        Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : throw new ArgumentException($"HF_ENDPOINT '{value}' is not an http(s) URL");

    private static string DefaultCacheDirectory(Func<string, string?> getVariable) =>
        ExpandHome(NonEmpty(getVariable("HF_HUB_CACHE"))) ?? Path.Combine(HfHome(getVariable), "hub");

    private static string HfHome(Func<string, string?> getVariable) =>
        ExpandHome(NonEmpty(getVariable("HF_HOME")))
        ?? Path.Combine(ExpandHome(NonEmpty(getVariable("XDG_CACHE_HOME"))) ?? Path.Combine(Home(), ".cache"), "huggingface");

    /// <summary>huggingface_hub's <c>hf auth login</c> stores the token in <c>$HF_TOKEN_PATH</c> or <c>$HF_HOME/token</c>.</summary>
    private static string? ReadTokenFile(Func<string, string?> getVariable)
    {
        var path = ExpandHome(NonEmpty(getVariable("HF_TOKEN_PATH"))) ?? Path.Combine(HfHome(getVariable), "token");
        try
        {
            return File.Exists(path) ? NonEmpty(File.ReadAllText(path).Trim()) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsTrue(string? value) =>
        value?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Home() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string? ExpandHome(string? path) =>
        path is not null && (path == "~" || path.StartsWith("~/", StringComparison.Ordinal)) ? Home() + path[1..] : path;

    /// <summary>Keeps the token out of logs: records print every property otherwise.</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Endpoint = {Endpoint}, CacheDirectory = {CacheDirectory}, Token = {(Token is null ? "(none)" : "***")}, ");
        builder.Append($"Revision = {Revision}, Offline = {Offline}, MaxAttempts = {MaxAttempts}, RetryDelay = {RetryDelay}");
        return true;
    }
}
