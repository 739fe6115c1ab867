using System.Net.Http.Headers;
using System.Text.Json;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>The HTTP client of a run and the few non-streaming calls it makes while preparing (model list,
/// tokenize, detokenize). A failure here is a setup error (<see cref="HttpRequestException"/>), not a measured one.</summary>
internal static class ServerApi
{
    /// <summary>A client for the whole run: unlimited connections (the concurrency limit is the benchmark's own), no
    /// request timeout (the run's timeout cancels instead), connections kept for the run.</summary>
    public static HttpClient CreateClient(Uri baseUrl, string? apiKey)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };

        // Relative paths resolve below the base, so a base with a path prefix (a proxy's /serving/) works too.
        var root = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        var client = new HttpClient(handler) { BaseAddress = root, Timeout = Timeout.InfiniteTimeSpan };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>The first model <c>/v1/models</c> lists (vLLM's default when no model is named).</summary>
    public static async Task<string> FirstModelAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var document = await GetJsonAsync(http, "v1/models", cancellationToken).ConfigureAwait(false);
        var data = document.RootElement.GetProperty("data");
        return data.GetArrayLength() > 0 ? data[0].GetProperty("id").GetString()! : throw new HttpRequestException("the server lists no models");
    }

    public static async Task<int[]> TokenizeAsync(HttpClient http, string model, string text, CancellationToken cancellationToken)
    {
        using var document = await PostJsonAsync(http, "tokenize", RequestJson.Tokenize(model, text), cancellationToken).ConfigureAwait(false);
        return Tokens(document);
    }

    public static async Task<int> CountChatTokensAsync(HttpClient http, string model, string message, CancellationToken cancellationToken)
    {
        using var document = await PostJsonAsync(http, "tokenize", RequestJson.TokenizeChat(model, message), cancellationToken).ConfigureAwait(false);
        return document.RootElement.GetProperty("count").GetInt32();
    }

    public static async Task<string> DetokenizeAsync(HttpClient http, string model, IReadOnlyList<int> tokens, CancellationToken cancellationToken)
    {
        using var document = await PostJsonAsync(http, "detokenize", RequestJson.Detokenize(model, tokens), cancellationToken).ConfigureAwait(false);
        return document.RootElement.GetProperty("prompt").GetString()!;
    }

    private static int[] Tokens(JsonDocument document)
    {
        var tokens = document.RootElement.GetProperty("tokens");
        var ids = new int[tokens.GetArrayLength()];
        var i = 0;
        foreach (var token in tokens.EnumerateArray())
        {
            ids[i++] = token.GetInt32();
        }

        return ids;
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, path, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<JsonDocument> PostJsonAsync(HttpClient http, string path, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync(path, content, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, path, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<JsonDocument> ReadAsync(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"/{path} answered {(int)response.StatusCode}: {Truncate(text)}");
        }

        return JsonDocument.Parse(text);
    }

    internal static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
