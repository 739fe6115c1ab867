using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Serving.Server.Tests.Api;

namespace Serving.Server.Tests.Operations;

/// <summary>One span per request: the incoming W3C trace is continued, the span carries GenAI attributes and the
/// request's events, and a failed request has error status and its error type.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task RequestSpan_ContinuesTheTrace_WithGenAiAttributesAndEvents()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = await TestServer.StartAsync();
        var ok = ActivityTraceId.CreateRandom();
        var bad = ActivityTraceId.CreateRandom();

        await SendAsync(server.Http, ok, """{"prompt":"Once","max_tokens":4,"stream":true}""");
        await SendAsync(server.Http, bad, """{"prompt":"Once","max_tokens":-4}""");

        Assert.True(await TestServer.EventuallyAsync(() => spans.Any(s => s.TraceId == ok) && spans.Any(s => s.TraceId == bad)));
        var span = spans.Single(s => s.TraceId == ok);
        Assert.Equal("text_completion", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("stories260K.gguf", span.GetTagItem("gen_ai.request.model"));
        Assert.Equal(4, span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("length", span.GetTagItem("gen_ai.response.finish_reasons"));
        Assert.Equal(["queued", "scheduled", "first_token", "finished"], span.Events.Select(e => e.Name).ToArray());

        var failed = spans.Single(s => s.TraceId == bad);
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("invalid_request_error", failed.GetTagItem("error.type"));
    }

    private static async Task SendAsync(HttpClient http, ActivityTraceId trace, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }
}
