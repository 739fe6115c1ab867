using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serving.Server.Api.OpenAi;

/// <summary>Body of <c>POST /v1/completions</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class CompletionRequest : GenerationFields
{
    /// <summary>A string, an array of strings, an array of token ids, or an array of such arrays.</summary>
    public JsonElement? Prompt { get; set; }

    public int? Logprobs { get; set; }

    public bool? Echo { get; set; }

    public int? BestOf { get; set; }

    public JsonElement? Suffix { get; set; }

    public bool? AddSpecialTokens { get; set; }
}
