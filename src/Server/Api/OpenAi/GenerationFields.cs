using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serving.Server.Api.OpenAi;

/// <summary>Request fields chat and text completions share. Known fields this server does not implement are declared
/// too, so that they are refused by name instead of passing unnoticed; unknown fields are refused by the serializer.</summary>
internal abstract class GenerationFields
{
    public string? Model { get; set; }

    public int? MaxTokens { get; set; }

    public float? Temperature { get; set; }

    public float? TopP { get; set; }

    public int? TopK { get; set; }

    public float? MinP { get; set; }

    public int? N { get; set; }

    public bool? Stream { get; set; }

    public StreamOptions? StreamOptions { get; set; }

    public JsonElement? Stop { get; set; }

    public long? Seed { get; set; }

    public float? PresencePenalty { get; set; }

    public float? FrequencyPenalty { get; set; }

    public float? RepetitionPenalty { get; set; }

    public Dictionary<string, float>? LogitBias { get; set; }

    public string? User { get; set; }

    public bool? IgnoreEos { get; set; }

    public int? MinTokens { get; set; }

    public int? Priority { get; set; }

    public JsonElement? ResponseFormat { get; set; }

    public JsonElement? ServiceTier { get; set; }

    public JsonElement? Store { get; set; }

    public JsonElement? Metadata { get; set; }
}

/// <summary>OpenAI's <c>stream_options</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class StreamOptions
{
    public bool? IncludeUsage { get; set; }

    /// <summary>vLLM's extension: every chunk carries the usage so far.</summary>
    public bool? ContinuousUsageStats { get; set; }
}
