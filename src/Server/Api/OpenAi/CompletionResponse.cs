using System.Text.Json.Serialization;

namespace Serving.Server.Api.OpenAi;

/// <summary>A text completion (<c>object = "text_completion"</c>), also the shape of each streamed chunk.</summary>
internal sealed record CompletionResponse(string Id, long Created, string Model, IReadOnlyList<CompletionChoice> Choices, Usage? Usage)
{
    public string Object { get; } = "text_completion";
}

/// <summary>One choice of a text completion.</summary>
internal sealed record CompletionChoice(
    int Index,
    string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] CompletionLogprobs? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>The legacy completions logprobs layout: parallel arrays per generated token.</summary>
internal sealed record CompletionLogprobs(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<float> TokenLogprobs,
    IReadOnlyList<Dictionary<string, float>> TopLogprobs,
    IReadOnlyList<int> TextOffset);
