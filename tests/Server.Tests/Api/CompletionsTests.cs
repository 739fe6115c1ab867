using System.Text;
using System.Text.Json;

namespace Serving.Server.Tests.Api;

/// <summary><c>/v1/completions</c> over HTTP with a raw HttpClient against the real server and the stories260K model.</summary>
public sealed class CompletionsTests(StoriesServerFixture fixture) : IClassFixture<StoriesServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task Greedy_FromBosOnly_ReproducesTheReferenceText_WithExactUsage()
    {
        var body = await Sse.PostJsonAsync(Http, "/v1/completions", """{"model":"stories260K.gguf","prompt":"","max_tokens":200,"temperature":0}""");

        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(Fixtures.Reference200, choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(1, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(200, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(201, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Streaming_ConcatenatesToTheNonStreamingText_AndEndsWithFinishReasonUsageAndDone()
    {
        const string request = """{"prompt":"Once upon a time","max_tokens":40,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}""";
        var whole = await Sse.PostJsonAsync(Http, "/v1/completions", request.Replace("\"stream\":true", "\"stream\":false", StringComparison.Ordinal));
        var (events, done) = await Sse.PostAsync(Http, "/v1/completions", request);

        Assert.True(done);
        var text = new StringBuilder();
        string? finish = null;
        foreach (var e in events.SkipLast(1))
        {
            var choice = Assert.Single(e.GetProperty("choices").EnumerateArray());
            text.Append(choice.GetProperty("text").GetString());
            if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
            {
                Assert.Null(finish);
                finish = choice.GetProperty("finish_reason").GetString();
            }
        }

        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("text").GetString(), text.ToString());
        Assert.Equal("length", finish);
        var last = events[^1];
        Assert.Empty(last.GetProperty("choices").EnumerateArray());
        Assert.Equal(whole.GetProperty("usage").ToString(), last.GetProperty("usage").ToString());
        Assert.True(events.Count > 2, "tokens should arrive in more than one chunk");
    }

    [Fact]
    public async Task NEqualsThree_WithSeed_GivesThreeReproducibleSamples()
    {
        const string request = """{"prompt":"Once upon a time","max_tokens":30,"temperature":1.0,"n":3,"seed":1234}""";
        var first = await Sse.PostJsonAsync(Http, "/v1/completions", request);
        var second = await Sse.PostJsonAsync(Http, "/v1/completions", request);

        string[] Texts(JsonElement body) => [.. body.GetProperty("choices").EnumerateArray().OrderBy(c => c.GetProperty("index").GetInt32()).Select(c => c.GetProperty("text").GetString()!)];
        var a = Texts(first);
        Assert.Equal(3, a.Length);
        Assert.Equal(a, Texts(second));
        Assert.True(a.Distinct().Count() > 1, "three samples at temperature 1 should not all be equal");
        Assert.Equal(5, first.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(90, first.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task TokenIdPrompt_EqualsTheTextPrompt_AndBatchedPromptsKeepTheirOrder()
    {
        var tokens = await Sse.PostJsonAsync(Http, "/tokenize", """{"prompt":"Once upon a time"}""");
        Assert.Equal("[1,403,407,261,378]", tokens.GetProperty("tokens").ToString().Replace(" ", string.Empty, StringComparison.Ordinal));

        var fromText = await Sse.PostJsonAsync(Http, "/v1/completions", """{"prompt":"Once upon a time","max_tokens":12,"temperature":0}""");
        var fromIds = await Sse.PostJsonAsync(Http, "/v1/completions", """{"prompt":[1,403,407,261,378],"max_tokens":12,"temperature":0}""");
        var batch = await Sse.PostJsonAsync(Http, "/v1/completions", """{"prompt":["Lily went","Once upon a time"],"max_tokens":12,"temperature":0}""");

        var expected = fromText.GetProperty("choices")[0].GetProperty("text").GetString();
        Assert.Equal(expected, fromIds.GetProperty("choices")[0].GetProperty("text").GetString());
        var choices = batch.GetProperty("choices");
        Assert.Equal(1, choices[1].GetProperty("index").GetInt32());
        Assert.Equal(expected, choices[1].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Echo_StopStrings_AndLogprobs_BehaveAsOpenAiDocuments()
    {
        var plain = (await Sse.PostJsonAsync(Http, "/v1/completions", """{"prompt":"Once upon a time","max_tokens":20,"temperature":0}""")).GetProperty("choices")[0].GetProperty("text").GetString()!;
        var echoed = await Sse.PostJsonAsync(Http, "/v1/completions", """{"prompt":"Once upon a time","max_tokens":20,"temperature":0,"echo":true}""");
        Assert.Equal("Once upon a time" + plain, echoed.GetProperty("choices")[0].GetProperty("text").GetString());

        var stopAt = plain.IndexOf("little", StringComparison.Ordinal);
        Assert.True(stopAt > 0, plain);
        var stopped = await Sse.PostJsonAsync(Http, "/v1/completions", """{"prompt":"Once upon a time","max_tokens":20,"temperature":0,"stop":["little","zebra"]}""");
        Assert.Equal(plain[..stopAt], stopped.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", stopped.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        var withLogprobs = await Sse.PostJsonAsync(Http, "/v1/completions", """{"prompt":"Once upon a time","max_tokens":5,"temperature":0,"logprobs":3}""");
        var logprobs = withLogprobs.GetProperty("choices")[0].GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()).ToArray();
        Assert.Equal(5, tokens.Length);
        Assert.Equal(plain[..string.Concat(tokens).Length], string.Concat(tokens));
        foreach (var (top, value) in logprobs.GetProperty("top_logprobs").EnumerateArray().Zip(logprobs.GetProperty("token_logprobs").EnumerateArray()))
        {
            var alternatives = top.EnumerateObject().Select(p => p.Value.GetSingle()).ToArray();
            Assert.Equal(3, alternatives.Length);
            Assert.Equal(alternatives.Max(), value.GetSingle(), 4);
            Assert.True(value.GetSingle() <= 0f);
        }
    }
}
