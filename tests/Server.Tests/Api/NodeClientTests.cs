using System.Text.Json;

namespace Serving.Server.Tests.Api;

/// <summary>A second real client nobody here wrote: the official <c>openai</c> npm package, run by Node against the
/// server (tests/node-client). Node and npm must be installed; the package is installed from the lock file on first
/// use.</summary>
public sealed class NodeClientTests(StoriesServerFixture fixture) : IClassFixture<StoriesServerFixture>
{
    [Fact]
    public async Task OfficialNodeClient_ChatAndCompletions_StreamingAndNot()
    {
        var directory = NodeProcess.FindDirectory(Path.Combine("tests", "node-client"));
        await NodeProcess.EnsureInstalledAsync(directory, "openai");

        var environment = new Dictionary<string, string>
        {
            ["OPENAI_BASE_URL"] = new Uri(fixture.Server.BaseAddress, "/v1").ToString(),
            ["OPENAI_API_KEY"] = "unused",
            ["SERVING_MODEL"] = "stories260K.gguf",
        };
        var (exit, stdout) = await NodeProcess.RunAsync(directory, "node", ["openai-client.mjs"], environment);
        Assert.True(exit == 0, "the node client failed: " + stdout);
        var results = JsonDocument.Parse(stdout).RootElement;

        foreach (var name in new[] { "completion", "completionStream" })
        {
            var result = results.GetProperty(name);
            Assert.Equal(Fixtures.Reference200, result.GetProperty("text").GetString());
            Assert.Equal("length", result.GetProperty("finish").GetString());
            Assert.Equal(200, result.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal(1, result.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }

        var chat = results.GetProperty("chat");
        var chatStream = results.GetProperty("chatStream");
        Assert.Equal("assistant", chat.GetProperty("role").GetString());
        Assert.Equal("assistant", chatStream.GetProperty("role").GetString());
        Assert.False(string.IsNullOrEmpty(chat.GetProperty("text").GetString()));
        Assert.Equal(chat.GetProperty("text").GetString(), chatStream.GetProperty("text").GetString());
        Assert.Equal(chat.GetProperty("finish").GetString(), chatStream.GetProperty("finish").GetString());
        Assert.Equal(chat.GetProperty("usage").ToString(), chatStream.GetProperty("usage").ToString());

        var bad = results.GetProperty("badRequest");
        Assert.Equal(400, bad.GetProperty("status").GetInt32());
        Assert.Equal("temperature", bad.GetProperty("param").GetString());
        Assert.Equal(["stories260K.gguf"], results.GetProperty("models").EnumerateArray().Select(m => m.GetString()!).ToArray());
    }
}
