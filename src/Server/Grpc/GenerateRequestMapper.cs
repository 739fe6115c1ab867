using System.Globalization;
using System.Text.Json;
using Serving.Contracts.V1;
using Serving.Server.Api.Endpoints;
using Serving.Server.Api.Errors;
using Serving.Server.Api.OpenAi;
using Serving.Server.Hosting;
using Serving.Server.Inference;

namespace Serving.Server.Grpc;

/// <summary>
/// Turns a <see cref="GenerateRequest"/> into an engine request through the same validation as
/// <c>POST /v1/completions</c>: the proto fields are copied onto a <see cref="CompletionRequest"/>, so both front ends
/// refuse the same values with the same messages and take the same defaults.
/// </summary>
internal static class GenerateRequestMapper
{
    public static PreparedGeneration Prepare(InferenceService service, GenerateRequest request)
    {
        var model = service.Require(request.HasModel ? request.Model : null);
        var fields = Fields(request);
        var n = SamplingRequestBuilder.ValidateN(fields.N);
        SamplingRequestBuilder.ValidateLogprobs(fields.Logprobs);
        var prompt = Prompt(request, model);
        var generation = SamplingRequestBuilder.Build(
            fields, prompt, fields.MaxTokens, CompletionsEndpoint.DefaultMaxTokens, fields.Logprobs, model.MaxModelLen, model.Model.Config.VocabSize, service.Options.MaxStopStrings);
        return new PreparedGeneration(model, generation, n, prompt.Length);
    }

    private static int[] Prompt(GenerateRequest request, ServedModel model) => request.PromptCase switch
    {
        GenerateRequest.PromptOneofCase.Text => PromptInput.Encode(
            request.Text.Text, model.Model.Tokenizer, !request.Text.HasAddSpecialTokens || request.Text.AddSpecialTokens),
        GenerateRequest.PromptOneofCase.TokenIds => PromptInput.TokenIds(request.TokenIds.Ids, model.Model.Config.VocabSize),
        _ => throw ApiException.BadRequest("prompt is required: set text or token_ids", "prompt"),
    };

    private static CompletionRequest Fields(GenerateRequest r) => new()
    {
        MaxTokens = r.HasMaxTokens ? r.MaxTokens : null,
        Temperature = r.HasTemperature ? r.Temperature : null,
        TopP = r.HasTopP ? r.TopP : null,
        TopK = r.HasTopK ? r.TopK : null,
        MinP = r.HasMinP ? r.MinP : null,
        Seed = r.HasSeed ? r.Seed : null,
        PresencePenalty = r.HasPresencePenalty ? r.PresencePenalty : null,
        FrequencyPenalty = r.HasFrequencyPenalty ? r.FrequencyPenalty : null,
        RepetitionPenalty = r.HasRepetitionPenalty ? r.RepetitionPenalty : null,
        LogitBias = r.LogitBias.Count > 0 ? r.LogitBias.ToDictionary(e => e.Key.ToString(CultureInfo.InvariantCulture), e => e.Value) : null,
        Stop = r.Stop.Count > 0 ? JsonSerializer.SerializeToElement(r.Stop.ToArray(), OpenAiJson.Api.StringArray) : null,
        IgnoreEos = r.HasIgnoreEos ? r.IgnoreEos : null,
        MinTokens = r.HasMinTokens ? r.MinTokens : null,
        Priority = r.HasPriority ? r.Priority : null,
        N = r.HasN ? r.N : null,
        Logprobs = r.HasLogprobs ? r.Logprobs : null,
    };
}
