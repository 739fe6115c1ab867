using System.Text.Json;
using Serving.Server.Tests.Api;

namespace Serving.Server.Tests.Operations;

/// <summary>Settings from environment variables and the command line (the command line wins), and the JSON log format
/// whose request lines carry request and trace ids and no prompt text unless asked.</summary>
public sealed class ConfigurationAndLogTests
{
    [Fact]
    public async Task EnvironmentVariables_SetOptions_AndTheCommandLineWins()
    {
        using var server = await ServerProcess.StartAsync(
            ["--served-model-name", "from-cli"],
            new Dictionary<string, string> { ["Serving__ServedModelName"] = "from-env", ["Serving__MaxModelLen"] = "256" });

        var models = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/models", TestContext.Current.CancellationToken)).RootElement.GetProperty("data");
        Assert.Equal("from-cli", models[0].GetProperty("id").GetString());
        Assert.Equal(256, models[0].GetProperty("max_model_len").GetInt32());
    }

    [Fact]
    public async Task JsonLogs_CarryRequestAndTraceIds_AndNoPromptText()
    {
        using var server = await ServerProcess.StartAsync([], new Dictionary<string, string> { ["Serving__LogFormat"] = "json" });
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent("""{"prompt":"secret words","max_tokens":3}""") })
        {
            request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
            using var response = await server.Http.SendAsync(request, TestContext.Current.CancellationToken);
            response.EnsureSuccessStatusCode();
        }

        const string finishedLine = "\"FinishReason\":\"length\"";
        Assert.True(await TestServer.EventuallyAsync(() => server.Log.Contains(finishedLine, StringComparison.Ordinal)));
        var finished = server.Log.Split('\n').Where(l => l.Contains(finishedLine, StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l).RootElement).Single();
        Assert.Equal(traceId, finished.GetProperty("@tr").GetString());
        Assert.False(string.IsNullOrEmpty(finished.GetProperty("RequestId").GetString()));
        Assert.DoesNotContain("secret words", server.Log, StringComparison.Ordinal);
        foreach (var line in server.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            JsonDocument.Parse(line).Dispose();
        }
    }

    [Fact]
    public async Task LogPrompts_WritesPromptAndOutput_WhenEnabled()
    {
        using var server = await ServerProcess.StartAsync([], new Dictionary<string, string> { ["Serving__LogPrompts"] = "true" });
        await Sse.PostJsonAsync(server.Http, "/v1/completions", """{"prompt":"secret words","max_tokens":3}""");
        Assert.True(await TestServer.EventuallyAsync(() => server.Log.Contains("secret words", StringComparison.Ordinal)));
    }
}
