using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serving.Server.Api.OpenAi;

/// <summary>Body of <c>POST /tokenize</c> (vLLM's shape): either <c>prompt</c> or <c>messages</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class TokenizeRequest
{
    public string? Model { get; set; }

    public string? Prompt { get; set; }

    public bool? AddSpecialTokens { get; set; }

    public List<ChatMessage>? Messages { get; set; }

    public bool? AddGenerationPrompt { get; set; }

    public bool? ContinueFinalMessage { get; set; }

    public Dictionary<string, JsonElement>? ChatTemplateKwargs { get; set; }

    public bool? ReturnTokenStrs { get; set; }
}

/// <summary>Answer of <c>POST /tokenize</c>.</summary>
internal sealed record TokenizeResponse(IReadOnlyList<int> Tokens, int Count, int MaxModelLen, IReadOnlyList<string>? TokenStrs);

/// <summary>Body of <c>POST /detokenize</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class DetokenizeRequest
{
    public string? Model { get; set; }

    public List<int>? Tokens { get; set; }
}

/// <summary>Answer of <c>POST /detokenize</c>.</summary>
internal sealed record DetokenizeResponse(string Prompt);

/// <summary>Answer of <c>GET /version</c>.</summary>
internal sealed record VersionResponse(string Version);
