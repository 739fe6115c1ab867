using System.Net;
using System.Text.Json;

namespace Serving.Server.Tests.Api;

/// <summary>The smaller routes and options: model lookup, version, detokenize, continuous usage in streams, and
/// continuing a final assistant message.</summary>
public sealed class MoreRouteTests(StoriesServerFixture fixture) : IClassFixture<StoriesServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task ModelById_Version_AndDetokenize()
    {
        var model = JsonDocument.Parse(await Http.GetStringAsync("/v1/models/stories260K.gguf", TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal(2048, model.GetProperty("max_model_len").GetInt32());
        using (var missing = await Http.GetAsync("/v1/models/other", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var version = JsonDocument.Parse(await Http.GetStringAsync("/version", TestContext.Current.CancellationToken)).RootElement;
        Assert.False(string.IsNullOrEmpty(version.GetProperty("version").GetString()));

        var text = await Sse.PostJsonAsync(Http, "/detokenize", """{"tokens":[1,403,407,261,378]}""");
        Assert.Equal("Once upon a time", text.GetProperty("prompt").GetString()!.Replace("<s>", string.Empty, StringComparison.Ordinal).Trim());
        var strings = await Sse.PostJsonAsync(Http, "/tokenize", """{"prompt":"Once upon","return_token_strs":true}""");
        Assert.Equal(3, strings.GetProperty("token_strs").GetArrayLength());
    }

    [Fact]
    public async Task ContinuousUsageStats_PutRunningUsageOnEveryChunk()
    {
        var (events, done) = await Sse.PostAsync(Http, "/v1/completions", """{"prompt":"Once","max_tokens":6,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}""");
        Assert.True(done);
        var counts = events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).Select(e => e.GetProperty("usage").GetProperty("completion_tokens").GetInt32()).ToArray();
        Assert.Equal(counts.Order().ToArray(), counts);
        Assert.Equal(6, counts[^1]);
        Assert.All(events, e => Assert.Equal(2, e.GetProperty("usage").GetProperty("prompt_tokens").GetInt32()));
    }

    [Fact]
    public async Task ContinueFinalMessage_ExtendsTheAssistantTurn()
    {
        const string messages = """[{"role":"user","content":"Tell me a story"},{"role":"assistant","content":"Once upon a time"}]""";
        var continued = await Sse.PostJsonAsync(Http, "/tokenize", "{\"messages\":" + messages + ",\"continue_final_message\":true}");
        var closed = await Sse.PostJsonAsync(Http, "/tokenize", "{\"messages\":" + messages + ",\"add_generation_prompt\":false}");
        var continuedIds = continued.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        var closedIds = closed.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();

        // The continued prompt stops right after "Once upon a time": it is the closed one without the end-of-turn text.
        Assert.True(continuedIds.Length < closedIds.Length);
        Assert.Equal(continuedIds, closedIds[..continuedIds.Length]);
        var chat = await Sse.PostJsonAsync(Http, "/v1/chat/completions", "{\"messages\":" + messages + ",\"continue_final_message\":true,\"max_tokens\":3}");
        Assert.Equal(continuedIds.Length, chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        var error = (await Sse.PostJsonAsync(Http, "/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"continue_final_message":true}""", 400)).GetProperty("error");
        Assert.Equal("continue_final_message", error.GetProperty("param").GetString());
    }
}
