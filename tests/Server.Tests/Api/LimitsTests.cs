using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Serving.Server.Tests.Api;

/// <summary>API keys, per-key rate and stream limits, the waiting-queue limit and draining.</summary>
public sealed class LimitsTests
{
    private const string Small = """{"prompt":"Once","max_tokens":2,"temperature":0}""";

    [Fact]
    public async Task ApiKeys_AreRequiredOnInferenceRoutes_ButNotOnProbes()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ApiKeys:0"] = "sk-first", ["ApiKeys:1"] = "sk-second" });
        var http = server.Http;

        await AssertErrorAsync(await PostAsync(http, "/v1/completions", Small, key: null), 401, "invalid_api_key");
        await AssertErrorAsync(await PostAsync(http, "/v1/completions", Small, key: "sk-wrong"), 401, "invalid_api_key");
        await AssertErrorAsync(await SendAsync(http, HttpMethod.Get, "/v1/models", key: null), 401, "invalid_api_key");
        using (var ok = await PostAsync(http, "/v1/completions", Small, key: "sk-second"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        foreach (var open in new[] { "/health", "/ready", "/version" })
        {
            using var probe = await http.GetAsync(open, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        }
    }

    [Fact]
    public async Task RateLimit_PerKey_Answers429WithRetryAfter()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ApiKeys:0"] = "sk-a", ["ApiKeys:1"] = "sk-b", ["RateLimitPerMinute"] = "3" });
        for (var i = 0; i < 3; i++)
        {
            using var ok = await PostAsync(server.Http, "/v1/completions", Small, "sk-a");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var limited = await PostAsync(server.Http, "/v1/completions", Small, "sk-a");
        Assert.NotNull(limited.Headers.RetryAfter);
        await AssertErrorAsync(limited, 429, "rate_limit_exceeded");
        using var other = await PostAsync(server.Http, "/v1/completions", Small, "sk-b");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task ConcurrentStreams_PerKey_AreCapped()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["MaxConcurrentStreamsPerKey"] = "1" });
        const string longStream = """{"prompt":"Once","max_tokens":1500,"ignore_eos":true,"stream":true}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(longStream, Encoding.UTF8, "application/json") };
        using var first = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        await AssertErrorAsync(await PostAsync(server.Http, "/v1/completions", longStream, key: null), 429, "too_many_streams");
        using var unary = await PostAsync(server.Http, "/v1/completions", Small, key: null);
        Assert.Equal(HttpStatusCode.OK, unary.StatusCode);
    }

    [Fact]
    public async Task FullWaitingQueue_Answers429_AndDraining_Answers503()
    {
        // Every sample waits for admission, so a request with more samples than the queue holds is refused whole.
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["MaxWaitingRequests"] = "2" });
        using var refused = await PostAsync(server.Http, "/v1/completions", """{"prompt":"Once","max_tokens":2,"n":3}""", key: null);
        Assert.NotNull(refused.Headers.RetryAfter);
        await AssertErrorAsync(refused, 429, "queue_full");
        using var fits = await PostAsync(server.Http, "/v1/completions", """{"prompt":"Once","max_tokens":2,"n":2}""", key: null);
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);

        server.Host.Drain();
        using var ready = await server.Http.GetAsync("/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        await AssertErrorAsync(await PostAsync(server.Http, "/v1/completions", Small, key: null), 503, "service_unavailable");
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string body, string? key) =>
        SendAsync(http, HttpMethod.Post, path, key, body);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? key, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, int status, string code)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
            Assert.Equal(code, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
    }
}
