using System.Net;
using System.Text;
using System.Text.Json;

namespace Serving.Server.Tests.Api;

/// <summary>
/// Malformed and hostile requests: each gets its documented 4xx status and OpenAI error JSON (naming the field where
/// there is one), and the server still answers <c>/ready</c> and an ordinary request afterwards.
/// </summary>
public sealed class BadInputTests(StoriesServerFixture fixture) : IClassFixture<StoriesServerFixture>
{
    public static TheoryData<string, string, string, int, string?> Cases()
    {
        var data = new TheoryData<string, string, string, int, string?>();
        void Add(string name, string path, string body, int status, string? param = null) => data.Add(name, path, body, status, param);
        const string C = "/v1/completions";
        Add("truncated JSON", C, """{"prompt":""", 400);
        Add("not JSON", C, "hello", 400);
        Add("empty body", C, "", 400);
        Add("array body", C, "[1,2,3]", 400);
        Add("string body", C, "\"prompt\"", 400);
        Add("null body", C, "null", 400);
        Add("temperature as string", C, """{"prompt":"a","temperature":"hot"}""", 400, "temperature");
        Add("max_tokens as string", C, """{"prompt":"a","max_tokens":"10"}""", 400, "max_tokens");
        Add("max_tokens fractional", C, """{"prompt":"a","max_tokens":1.5}""", 400, "max_tokens");
        Add("max_tokens negative", C, """{"prompt":"a","max_tokens":-1}""", 400, "max_tokens");
        Add("max_tokens zero", C, """{"prompt":"a","max_tokens":0}""", 400, "max_tokens");
        Add("max_tokens beyond int", C, """{"prompt":"a","max_tokens":1000000000000}""", 400, "max_tokens");
        Add("max_tokens int max", C, """{"prompt":"a","max_tokens":2147483647}""", 400, "max_tokens");
        Add("temperature negative", C, """{"prompt":"a","temperature":-1}""", 400, "temperature");
        Add("temperature above 2", C, """{"prompt":"a","temperature":3}""", 400, "temperature");
        Add("temperature overflow", C, """{"prompt":"a","temperature":1e39}""", 400, "temperature");
        Add("top_p zero", C, """{"prompt":"a","top_p":0}""", 400, "top_p");
        Add("top_p above 1", C, """{"prompt":"a","top_p":1.5}""", 400, "top_p");
        Add("top_k below -1", C, """{"prompt":"a","top_k":-5}""", 400, "top_k");
        Add("min_p above 1", C, """{"prompt":"a","min_p":2}""", 400, "min_p");
        Add("presence_penalty too high", C, """{"prompt":"a","presence_penalty":5}""", 400, "presence_penalty");
        Add("frequency_penalty too low", C, """{"prompt":"a","frequency_penalty":-3}""", 400, "frequency_penalty");
        Add("repetition_penalty zero", C, """{"prompt":"a","repetition_penalty":0}""", 400, "repetition_penalty");
        Add("n zero", C, """{"prompt":"a","n":0}""", 400, "n");
        Add("n huge", C, """{"prompt":"a","n":100000}""", 400, "n");
        Add("n as string", C, """{"prompt":"a","n":"3"}""", 400, "n");
        Add("logprobs above 20", C, """{"prompt":"a","logprobs":50}""", 400, "logprobs");
        Add("logit_bias key not an id", C, """{"prompt":"a","logit_bias":{"the":5}}""", 400, "logit_bias");
        Add("logit_bias id outside vocabulary", C, """{"prompt":"a","logit_bias":{"99999":5}}""", 400, "logit_bias");
        Add("logit_bias value out of range", C, """{"prompt":"a","logit_bias":{"5":500}}""", 400, "logit_bias");
        Add("stop list of 1,000 strings", C, "{\"prompt\":\"a\",\"stop\":[" + string.Join(',', Enumerable.Range(0, 1000).Select(i => $"\"s{i}\"")) + "]}", 400, "stop");
        Add("stop empty string", C, """{"prompt":"a","stop":[""]}""", 400, "stop");
        Add("stop as number", C, """{"prompt":"a","stop":5}""", 400, "stop");
        Add("stop list with a number", C, """{"prompt":"a","stop":["x",5]}""", 400, "stop");
        Add("stop string of 5,000 characters", C, "{\"prompt\":\"a\",\"stop\":\"" + new string('x', 5000) + "\"}", 400, "stop");
        Add("unknown field", C, """{"prompt":"a","frobnicate":true}""", 400, "frobnicate");
        Add("unknown field in stream_options", C, """{"prompt":"a","stream":true,"stream_options":{"include_usage":true,"extra":1}}""", 400, "extra");
        Add("prompt missing", C, """{"max_tokens":5}""", 400, "prompt");
        Add("prompt null", C, """{"prompt":null}""", 400, "prompt");
        Add("prompt empty array", C, """{"prompt":[]}""", 400, "prompt");
        Add("prompt token outside vocabulary", C, """{"prompt":[1,99999]}""", 400, "prompt");
        Add("prompt negative token", C, """{"prompt":[1,-4]}""", 400, "prompt");
        Add("prompt mixed types", C, """{"prompt":["a",[1,2]]}""", 400, "prompt");
        Add("prompt as object", C, """{"prompt":{"text":"a"}}""", 400, "prompt");
        Add("prompt batch of 65", C, "{\"prompt\":[" + string.Join(',', Enumerable.Repeat("\"a\"", 65)) + "]}", 400, "prompt");
        Add("lone surrogate escape", C, """{"prompt":"\ud800 alone"}""", 400, "prompt");
        Add("deeply nested JSON", C, "{\"prompt\":" + new string('[', 10_000) + new string(']', 10_000) + "}", 400);
        Add("prompt plus max_tokens over the context", C, """{"prompt":"a","max_tokens":2047}""", 400, "max_tokens");
        Add("unknown model", C, """{"model":"gpt-4o","prompt":"a"}""", 404, "model");
        Add("model name of 10,000 characters", C, "{\"model\":\"" + new string('m', 10_000) + "\",\"prompt\":\"a\"}", 404, "model");
        Add("suffix", C, """{"prompt":"a","suffix":"b"}""", 400, "suffix");
        Add("best_of above n", C, """{"prompt":"a","best_of":3}""", 400, "best_of");
        Add("echo with logprobs", C, """{"prompt":"a","echo":true,"logprobs":1}""", 400, "echo");
        Add("min_tokens above max_tokens", C, """{"prompt":"a","max_tokens":4,"min_tokens":8}""", 400, "min_tokens");
        Add("seed as string", C, """{"prompt":"a","seed":"42"}""", 400, "seed");
        Add("stream as string", C, """{"prompt":"a","stream":"yes"}""", 400, "stream");
        Add("stream_options as string", C, """{"prompt":"a","stream_options":"usage"}""", 400, "stream_options");
        Add("response_format json_object", C, """{"prompt":"a","response_format":{"type":"json_object"}}""", 400, "response_format");
        Add("metadata", C, """{"prompt":"a","metadata":{"k":"v"}}""", 400, "metadata");
        Add("detokenize id outside vocabulary", "/detokenize", """{"tokens":[1,70000]}""", 400, "tokens");
        Add("detokenize without tokens", "/detokenize", """{}""", 400, "tokens");
        Add("tokenize with neither prompt nor messages", "/tokenize", """{}""", 400);
        Add("unknown route", "/v1/engines", """{}""", 404);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_GetsItsStatusAndErrorJson_AndTheServerCarriesOn(string name, string path, string body, int status, string? param)
    {
        var http = fixture.Server.Http;
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new("application/json");
        using var response = await http.PostAsync(path, content, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.True(status == (int)response.StatusCode, $"{name}: expected {status}, got {(int)response.StatusCode}: {text}");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), name);
        Assert.Equal(status >= 500 ? "server_error" : "invalid_request_error", error.GetProperty("type").GetString());
        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        await AssertStillServingAsync(http);
    }

    [Fact]
    public async Task InvalidUtf8_AndTenMegabytePrompts_AreRefused()
    {
        var http = fixture.Server.Http;
        using (var invalid = new ByteArrayContent([.. "{\"prompt\":\""u8, 0xff, 0xfe, .. "\"}"u8]))
        {
            using var response = await http.PostAsync("/v1/completions", invalid, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using (var huge = new HttpRequestMessage(HttpMethod.Post, "/v1/completions"))
        {
            // With 100-continue the client waits for the server's verdict instead of pushing 10 MB into a closed
            // connection, as curl does for large bodies.
            huge.Headers.ExpectContinue = true;
            huge.Content = new StringContent("{\"prompt\":\"" + new string('a', 10 * 1024 * 1024) + "\"}", Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(huge, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
            Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        }

        using (var getOnPost = await http.GetAsync("/v1/completions", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, getOnPost.StatusCode);
        }

        await AssertStillServingAsync(http);
        Assert.Empty(fixture.Server.Errors);
    }

    private static async Task AssertStillServingAsync(HttpClient http)
    {
        using var ready = await http.GetAsync("/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var ok = await Sse.PostJsonAsync(http, "/v1/completions", """{"prompt":"Once","max_tokens":2,"temperature":0}""");
        Assert.Equal(2, ok.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
