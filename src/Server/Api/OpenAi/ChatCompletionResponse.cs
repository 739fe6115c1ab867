using System.Text.Json.Serialization;

namespace Serving.Server.Api.OpenAi;

/// <summary>A chat completion (<c>object = "chat.completion"</c>).</summary>
internal sealed record ChatCompletionResponse(string Id, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage)
{
    public string Object { get; } = "chat.completion";
}

/// <summary>One choice of a chat completion.</summary>
internal sealed record ChatChoice(
    int Index,
    ChatResponseMessage Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChatLogprobs? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>The assistant's message.</summary>
internal sealed record ChatResponseMessage(string Role, string Content);

/// <summary>A streamed chat chunk (<c>object = "chat.completion.chunk"</c>); the usage-only chunk has no choices.</summary>
internal sealed record ChatCompletionChunk(string Id, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices, Usage? Usage)
{
    public string Object { get; } = "chat.completion.chunk";
}

/// <summary>One choice's delta in a streamed chunk.</summary>
internal sealed record ChatChunkChoice(
    int Index,
    ChatDelta Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChatLogprobs? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>What a chunk adds to the message: the role once, then content.</summary>
internal sealed record ChatDelta(string? Role, string? Content);

/// <summary>Chat logprobs: one entry per generated token.</summary>
internal sealed record ChatLogprobs(IReadOnlyList<ChatTokenLogprob> Content);

/// <summary>A generated token's log-probability and its most likely alternatives.</summary>
internal sealed record ChatTokenLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<ChatTopLogprob> TopLogprobs);

/// <summary>An alternative token.</summary>
internal sealed record ChatTopLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes);
