using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serving.Server.Api.OpenAi;

/// <summary>Body of <c>POST /v1/chat/completions</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class ChatCompletionRequest : GenerationFields
{
    public List<ChatMessage>? Messages { get; set; }

    public int? MaxCompletionTokens { get; set; }

    public bool? Logprobs { get; set; }

    public int? TopLogprobs { get; set; }

    public bool? AddGenerationPrompt { get; set; }

    public bool? ContinueFinalMessage { get; set; }

    public Dictionary<string, JsonElement>? ChatTemplateKwargs { get; set; }

    public JsonElement? Tools { get; set; }

    public JsonElement? ToolChoice { get; set; }

    public JsonElement? ParallelToolCalls { get; set; }

    public JsonElement? Functions { get; set; }

    public JsonElement? FunctionCall { get; set; }

    public JsonElement? Modalities { get; set; }

    public JsonElement? Audio { get; set; }

    public JsonElement? Prediction { get; set; }

    public JsonElement? ReasoningEffort { get; set; }

    public JsonElement? WebSearchOptions { get; set; }
}

/// <summary>One chat message; <c>content</c> is a string, null, or an array of content parts.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class ChatMessage
{
    public string? Role { get; set; }

    public JsonElement? Content { get; set; }

    public string? Name { get; set; }

    public JsonElement? ToolCalls { get; set; }

    public string? ToolCallId { get; set; }

    public JsonElement? Refusal { get; set; }

    public JsonElement? FunctionCall { get; set; }
}
