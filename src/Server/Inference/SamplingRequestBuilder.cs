using System.Globalization;
using System.Text.Json;
using Serving.Kernels.Sampling;
using Serving.Scheduler.Generation;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Api.OpenAi;

namespace Serving.Server.Inference;

/// <summary>
/// Turns the sampling fields of an API request into an engine <see cref="GenerationRequest"/>, refusing out-of-range
/// values (OpenAI's ranges where it has them, vLLM's otherwise) and fields this server does not implement with a 400
/// that names the field.
/// </summary>
internal static class SamplingRequestBuilder
{
    /// <summary>Most samples one request may ask for (OpenAI's limit).</summary>
    public const int MaxN = 128;

    /// <summary>Longest stop string, in characters.</summary>
    public const int MaxStopLength = 1024;

    public static int ValidateN(int? n)
    {
        var value = n ?? 1;
        if (value is < 1 or > MaxN)
        {
            throw ApiException.BadRequest($"n must be in [1, {MaxN}], got {value}", "n");
        }

        return value;
    }

    /// <summary>Checks the number of top alternatives asked for with each token's logprob (null: no logprobs).</summary>
    public static void ValidateLogprobs(int? logprobs)
    {
        if (logprobs is < 0 or > 20)
        {
            throw ApiException.BadRequest($"logprobs must be in [0, 20], got {logprobs}", "logprobs");
        }
    }

    /// <summary>Builds the engine request for one prompt. <paramref name="defaultMaxTokens"/> null means "the rest
    /// of the context".</summary>
    public static GenerationRequest Build(
        GenerationFields fields,
        IReadOnlyList<int> prompt,
        int? maxTokens,
        int? defaultMaxTokens,
        int? logprobs,
        int maxModelLen,
        int vocabSize,
        int maxStopStrings)
    {
        RefuseUnsupported(fields);
        var room = maxModelLen - prompt.Count;
        if (room < 1)
        {
            throw new ApiException(
                400,
                $"This model's maximum context length is {maxModelLen} tokens. However, your prompt has {prompt.Count} tokens, which leaves no room for a completion. Please reduce the length of the prompt.",
                "messages",
                "context_length_exceeded");
        }

        var max = maxTokens ?? (defaultMaxTokens is { } d ? Math.Min(d, room) : room);
        if (max < 1)
        {
            throw ApiException.BadRequest($"max_tokens must be at least 1, got {max}", "max_tokens");
        }

        if (prompt.Count + (long)max > maxModelLen)
        {
            throw new ApiException(
                400,
                $"This model's maximum context length is {maxModelLen} tokens. However, you requested {prompt.Count + (long)max} tokens ({prompt.Count} in the prompt, {max} for the completion). Please reduce the length of the prompt or max_tokens.",
                "max_tokens",
                "context_length_exceeded");
        }

        var minTokens = fields.MinTokens ?? 0;
        if (minTokens < 0 || minTokens > max)
        {
            throw ApiException.BadRequest($"min_tokens must be in [0, max_tokens = {max}], got {minTokens}", "min_tokens");
        }

        return new GenerationRequest
        {
            PromptTokens = prompt,
            MaxTokens = max,
            Sampling = Sampling(fields, logprobs, vocabSize),
            IgnoreEos = fields.IgnoreEos ?? false,
            MinTokens = minTokens,
            Priority = fields.Priority ?? 0,
            StopStrings = StopStrings(fields.Stop, maxStopStrings),
        };
    }

    private static SamplingParams Sampling(GenerationFields f, int? logprobs, int vocabSize)
    {
        Range("temperature", f.Temperature, 0f, 2f);
        if (f.TopP is { } topP && !(topP > 0f && topP <= 1f))
        {
            throw ApiException.BadRequest($"top_p must be in (0, 1], got {topP.ToString(CultureInfo.InvariantCulture)}", "top_p");
        }

        if (f.TopK is < -1)
        {
            throw ApiException.BadRequest($"top_k must be -1 (off) or at least 0, got {f.TopK}", "top_k");
        }

        Range("min_p", f.MinP, 0f, 1f);
        Range("presence_penalty", f.PresencePenalty, -2f, 2f);
        Range("frequency_penalty", f.FrequencyPenalty, -2f, 2f);
        if (f.RepetitionPenalty is { } rep && !(rep > 0f && rep <= 10f))
        {
            throw ApiException.BadRequest($"repetition_penalty must be in (0, 10], got {rep.ToString(CultureInfo.InvariantCulture)}", "repetition_penalty");
        }

        return new SamplingParams
        {
            Temperature = f.Temperature ?? 1f,
            TopP = f.TopP ?? 1f,
            TopK = f.TopK is null or -1 ? 0 : f.TopK.Value,
            MinP = f.MinP ?? 0f,
            PresencePenalty = f.PresencePenalty ?? 0f,
            FrequencyPenalty = f.FrequencyPenalty ?? 0f,
            RepetitionPenalty = f.RepetitionPenalty ?? 1f,
            Seed = f.Seed is { } seed ? unchecked((ulong)seed) : null,
            Logprobs = logprobs,
            LogitBias = LogitBias(f.LogitBias, vocabSize),
        };
    }

    private static Dictionary<int, float>? LogitBias(Dictionary<string, float>? bias, int vocabSize)
    {
        if (bias is null)
        {
            return null;
        }

        var result = new Dictionary<int, float>(bias.Count);
        foreach (var (key, value) in bias)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id >= vocabSize)
            {
                throw ApiException.BadRequest($"logit_bias keys must be token ids in [0, {vocabSize}), got '{Truncate(key)}'", "logit_bias");
            }

            if (!(value >= -100f && value <= 100f))
            {
                throw ApiException.BadRequest($"logit_bias values must be in [-100, 100], got {value.ToString(CultureInfo.InvariantCulture)} for token {id}", "logit_bias");
            }

            result[id] = value;
        }

        return result;
    }

    private static string[] StopStrings(JsonElement? stop, int maxStopStrings)
    {
        if (stop is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return [StopString(element)];
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest("stop must be a string or an array of strings", "stop");
        }

        var count = element.GetArrayLength();
        if (count > maxStopStrings)
        {
            throw ApiException.BadRequest($"stop may hold at most {maxStopStrings} strings, got {count}", "stop");
        }

        var result = new string[count];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw ApiException.BadRequest("stop must be a string or an array of strings", "stop");
            }

            result[i++] = StopString(item);
        }

        return result;
    }

    private static string StopString(JsonElement element)
    {
        var value = JsonStrings.Get(element, "stop");
        if (value.Length is 0 or > MaxStopLength)
        {
            throw ApiException.BadRequest($"stop strings must have 1 to {MaxStopLength} characters, got {value.Length}", "stop");
        }

        return value;
    }

    private static void RefuseUnsupported(GenerationFields f)
    {
        if (f.ResponseFormat is { ValueKind: not JsonValueKind.Null } format
            && !(format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("text")))
        {
            throw ApiException.BadRequest("response_format: only {\"type\": \"text\"} is supported by this server", "response_format", "unsupported_parameter");
        }

        if (f.ServiceTier is { ValueKind: not JsonValueKind.Null } tier && !(tier.ValueKind == JsonValueKind.String && (tier.ValueEquals("auto") || tier.ValueEquals("default"))))
        {
            throw ApiException.Unsupported("service_tier");
        }

        if (f.Store is { ValueKind: JsonValueKind.True })
        {
            throw ApiException.Unsupported("store");
        }

        if (f.Store is { ValueKind: not (JsonValueKind.Null or JsonValueKind.False or JsonValueKind.True) })
        {
            throw ApiException.BadRequest("store must be a boolean", "store");
        }

        if (f.Metadata is { ValueKind: not JsonValueKind.Null })
        {
            throw ApiException.Unsupported("metadata");
        }
    }

    private static void Range(string name, float? value, float min, float max)
    {
        if (value is { } v && !(v >= min && v <= max))
        {
            throw ApiException.BadRequest(
                $"{name} must be in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], got {v.ToString(CultureInfo.InvariantCulture)}",
                name);
        }
    }

    private static string Truncate(string text) => text.Length <= 32 ? text : string.Concat(text.AsSpan(0, 32), "…");
}
