namespace Serving.Server.Tests.Api;

/// <summary>Real chat templates (from shared/chat-templates) served through <c>--chat-template</c>: a template that
/// raises is a 400 with its message, and a template that writes BOS gets no second one.</summary>
public sealed class ChatTemplateServingTests
{
    [Fact]
    public async Task GemmaTemplate_RaisingOnSystemRole_IsA400WithItsMessage()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ChatTemplate"] = Template("google-gemma-2-2b-it.jinja") });
        var error = (await Sse.PostJsonAsync(server.Http, "/v1/chat/completions", """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":4}""", 400)).GetProperty("error");

        Assert.Contains("System role not supported", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("chat_template_error", error.GetProperty("code").GetString());
        var ok = await Sse.PostJsonAsync(server.Http, "/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"max_tokens":4}""");
        Assert.Equal(4, ok.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task LlamaTemplate_WritingBos_GetsExactlyOneBos()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ChatTemplate"] = Template("meta-llama-Llama-3.1-8B-Instruct.jinja") });
        var tokens = (await Sse.PostJsonAsync(server.Http, "/tokenize", """{"messages":[{"role":"user","content":"Hi"}]}""")).GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();

        Assert.Equal(1, tokens[0]);
        Assert.Single(tokens, t => t == 1);
        var chat = await Sse.PostJsonAsync(server.Http, "/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"max_tokens":3}""");
        Assert.Equal(tokens.Length, chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    private static string Template(string name)
    {
        var models = Fixtures.Stories260K;
        var path = Path.GetFullPath(Path.Combine(models, "..", "..", "chat-templates", name));
        Assert.True(File.Exists(path), $"!!! FIXTURE MISSING: {path}");
        return path;
    }
}
