using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>
/// Sends one streamed generation and times it the way vLLM's benchmark client does, from the moment the request is
/// handed to the client: TTFT at the first chunk with content, an ITL sample for every later content chunk, the end
/// at the last chunk carrying a choice (a trailing finish-reason chunk included, the usage chunk not). Chunks with an
/// empty text (a chat stream's opening role delta, the finish reason) are not tokens, so they start no TTFT and add
/// no ITL. Token counts come from the usage chunk; without one, the content chunks and the prompt's own length
/// stand in. Any HTTP error, broken or unfinished stream (no <c>[DONE]</c>) or error event fails the request, and so
/// does cancellation: nothing is thrown, so one bad request never ends the run.
/// </summary>
internal static class StreamingRequest
{
    public static async Task<RequestOutcome> SendAsync(HttpClient http, ServeEndpoint endpoint, string model, BenchmarkPrompt prompt, int outputTokens, CancellationToken cancellationToken)
    {
        var body = RequestJson.Generation(endpoint, model, prompt, outputTokens);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint == ServeEndpoint.Chat ? "v1/chat/completions" : "v1/completions")
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                return RequestOutcome.Failed($"HTTP {(int)response.StatusCode}: {ServerApi.Truncate(text)}");
            }

            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                return await ReadAsync(new SseEventReader(stream), endpoint, prompt, start, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return RequestOutcome.Failed("cancelled before it finished (run timeout or interrupt)");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or OperationCanceledException or InvalidOperationException)
        {
            return RequestOutcome.Failed($"{e.GetType().Name}: {e.Message}");
        }
    }

    private static async Task<RequestOutcome> ReadAsync(SseEventReader reader, ServeEndpoint endpoint, BenchmarkPrompt prompt, long start, CancellationToken cancellationToken)
    {
        var itls = new List<double>();
        long firstContent = 0;
        long lastContent = 0;
        long lastChoice = 0;
        var contentChunks = 0;
        int? promptTokens = null;
        int? completionTokens = null;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } data)
        {
            var now = Stopwatch.GetTimestamp();
            if (data == "[DONE]")
            {
                if (contentChunks == 0)
                {
                    return RequestOutcome.Failed("the stream carried no content");
                }

                var ttft = Stopwatch.GetElapsedTime(start, firstContent).TotalSeconds;
                var latency = Stopwatch.GetElapsedTime(start, lastChoice).TotalSeconds;
                return new RequestOutcome(true, null, promptTokens ?? prompt.PromptTokens, completionTokens ?? contentChunks, ttft, itls, latency);
            }

            using var chunk = JsonDocument.Parse(data);
            var root = chunk.RootElement;
            if (root.TryGetProperty("error", out var error))
            {
                return RequestOutcome.Failed("error event: " + ServerApi.Truncate(error.ToString()));
            }

            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                lastChoice = now;
                if (HasContent(choices[0], endpoint))
                {
                    if (contentChunks++ == 0)
                    {
                        firstContent = now;
                    }
                    else
                    {
                        itls.Add(Stopwatch.GetElapsedTime(lastContent, now).TotalSeconds);
                    }

                    lastContent = now;
                }
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                promptTokens = usage.TryGetProperty("prompt_tokens", out var p) ? p.GetInt32() : promptTokens;
                completionTokens = usage.TryGetProperty("completion_tokens", out var c) ? c.GetInt32() : completionTokens;
            }
        }

        return RequestOutcome.Failed(contentChunks == 0 ? "the stream ended without content or [DONE]" : "the stream broke off before [DONE]");
    }

    private static bool HasContent(JsonElement choice, ServeEndpoint endpoint)
    {
        var text = endpoint == ServeEndpoint.Chat
            ? choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var content) ? content : default
            : choice.TryGetProperty("text", out var value) ? value : default;
        return text.ValueKind == JsonValueKind.String && text.GetString()!.Length > 0;
    }
}
