using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Serving.Server.Tests.Api;

/// <summary><c>/v1/chat/completions</c> through the official OpenAI .NET SDK against the real server.</summary>
public sealed class ChatTests(StoriesServerFixture fixture) : IClassFixture<StoriesServerFixture>
{
    private static readonly ChatMessage[] Conversation =
    [
        new SystemChatMessage("You tell short stories."),
        new UserChatMessage("Tell me about Lily."),
        new AssistantChatMessage("Lily was a little girl."),
        new UserChatMessage("What did she like?"),
    ];

    private ChatClient Client => new("stories260K.gguf", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "/v1") });

    [Fact]
    public async Task Sdk_StreamingAndNot_GiveTheSameText_AndExactUsage()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0 };
        ChatCompletion completion = await Client.CompleteChatAsync(Conversation, options, TestContext.Current.CancellationToken);

        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        var text = Assert.Single(completion.Content).Text;
        Assert.False(string.IsNullOrEmpty(text));
        var promptTokens = await PromptTokensAsync();
        Assert.Equal(promptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(24, completion.Usage.OutputTokenCount);
        Assert.Equal(promptTokens + 24, completion.Usage.TotalTokenCount);

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in Client.CompleteChatStreamingAsync(Conversation, options, TestContext.Current.CancellationToken))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(promptTokens, usage.InputTokenCount);
        Assert.Equal(24, usage.OutputTokenCount);
        Assert.True(updates > 3);
    }

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
    [Fact]
    public async Task Sdk_Seed_ReproducesSampledOutput_AndStopEndsIt()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 1, Seed = 99 };
        ChatCompletion first = await Client.CompleteChatAsync(Conversation, options, TestContext.Current.CancellationToken);
        ChatCompletion second = await Client.CompleteChatAsync(Conversation, options, TestContext.Current.CancellationToken);
        Assert.Equal(first.Content[0].Text, second.Content[0].Text);

        var greedy = (await Client.CompleteChatAsync(Conversation, new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 0 }, TestContext.Current.CancellationToken)).Value.Content[0].Text;
        var stop = greedy.Length > 6 ? greedy.Substring(3, 3) : greedy;
        var stopOptions = new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 0 };
        stopOptions.StopSequences.Add(stop);
        ChatCompletion stopped = await Client.CompleteChatAsync(Conversation, stopOptions, TestContext.Current.CancellationToken);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(greedy[..greedy.IndexOf(stop, StringComparison.Ordinal)], stopped.Content.Count == 0 ? string.Empty : stopped.Content[0].Text);
    }
#pragma warning restore OPENAI001

    [Fact]
    public async Task Sdk_BadRequest_SurfacesAsClientResultExceptionWith400()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client.CompleteChatAsync(Conversation, new ChatCompletionOptions { Temperature = 5 }, TestContext.Current.CancellationToken));
        Assert.Equal(400, error.Status);
        Assert.Contains("temperature", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RawHttp_NEqualsThreeWithSeed_AndLogprobs()
    {
        const string request = """{"messages":[{"role":"user","content":[{"type":"text","text":"Tell me"},{"type":"text","text":"a story."}]}],"max_tokens":20,"temperature":1,"n":3,"seed":5,"logprobs":true,"top_logprobs":2}""";
        var first = await Sse.PostJsonAsync(fixture.Server.Http, "/v1/chat/completions", request);
        var second = await Sse.PostJsonAsync(fixture.Server.Http, "/v1/chat/completions", request);
        string[] Texts(JsonElement body) => [.. body.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString()!)];

        Assert.Equal(3, Texts(first).Length);
        Assert.Equal(Texts(first), Texts(second));
        Assert.Equal(60, first.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        foreach (var choice in first.GetProperty("choices").EnumerateArray())
        {
            var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
            Assert.Equal(20, content.Length);
            Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), string.Concat(content.Select(c => c.GetProperty("token").GetString())));
            Assert.All(content, c => Assert.Equal(2, c.GetProperty("top_logprobs").GetArrayLength()));
        }
    }

    [Fact]
    public async Task UnsupportedFields_AreRefusedByName()
    {
        foreach (var (field, body) in new[]
        {
            ("tools", """{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]}"""),
            ("response_format", """{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"""),
            ("tool_choice", """{"messages":[{"role":"user","content":"x"}],"tool_choice":"auto"}"""),
            ("messages[0].content", """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x"}}]}]}"""),
            ("messages[0].role", """{"messages":[{"role":"wizard","content":"x"}]}"""),
            ("messages", """{"messages":[]}"""),
            ("top_logprobs", """{"messages":[{"role":"user","content":"x"}],"top_logprobs":3}"""),
        })
        {
            var error = (await Sse.PostJsonAsync(fixture.Server.Http, "/v1/chat/completions", body, 400)).GetProperty("error");
            Assert.Equal(field, error.GetProperty("param").GetString());
        }
    }

    private async Task<int> PromptTokensAsync()
    {
        const string messages = """[{"role":"system","content":"You tell short stories."},{"role":"user","content":"Tell me about Lily."},{"role":"assistant","content":"Lily was a little girl."},{"role":"user","content":"What did she like?"}]""";
        var tokenized = await Sse.PostJsonAsync(fixture.Server.Http, "/tokenize", "{\"messages\":" + messages + "}");
        return tokenized.GetProperty("count").GetInt32();
    }
}
