using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Api.OpenAi;
using Serving.Server.Inference;

namespace Serving.Server.Api.Endpoints;

/// <summary><c>POST /tokenize</c> and <c>POST /detokenize</c> in vLLM's shapes.</summary>
internal static class TokenizeEndpoints
{
    public static async Task TokenizeAsync(HttpContext context, InferenceService service, TimeProvider time)
    {
        var request = await RequestBody.ReadAsync(context, OpenAiJson.Api.TokenizeRequest).ConfigureAwait(false);
        var model = service.Require(request.Model);
        var tokenizer = model.Model.Tokenizer;
        if (request.Messages is not null == request.Prompt is not null)
        {
            throw ApiException.BadRequest("give either prompt or messages", request.Prompt is null ? "prompt" : "messages");
        }

        if (request.Messages is not null && request.AddSpecialTokens is not null)
        {
            throw ApiException.BadRequest("add_special_tokens applies to prompt; with messages the chat template decides", "add_special_tokens");
        }

        var continueFinal = request.ContinueFinalMessage ?? false;
        var tokens = request.Prompt is not null
            ? tokenizer.Encode(request.Prompt, request.AddSpecialTokens ?? true)
            : ChatPrompt.Render(model, request.Messages, request.AddGenerationPrompt ?? !continueFinal, continueFinal, request.ChatTemplateKwargs, time).Tokens;
        var strings = request.ReturnTokenStrs == true ? tokens.Select(t => tokenizer.GetTokenText(t)).ToArray() : null;
        await ApiResponses.WriteJsonAsync(context, new TokenizeResponse(tokens, tokens.Length, model.MaxModelLen, strings), OpenAiJson.Api.TokenizeResponse).ConfigureAwait(false);
    }

    public static async Task DetokenizeAsync(HttpContext context, InferenceService service)
    {
        var request = await RequestBody.ReadAsync(context, OpenAiJson.Api.DetokenizeRequest).ConfigureAwait(false);
        var model = service.Require(request.Model);
        var tokens = request.Tokens ?? throw ApiException.BadRequest("tokens is required", "tokens");
        var vocab = model.Model.Config.VocabSize;
        foreach (var token in tokens)
        {
            if ((uint)token >= (uint)vocab)
            {
                throw ApiException.BadRequest($"token id {token} is outside the vocabulary of {vocab}", "tokens");
            }
        }

        var text = model.Model.Tokenizer.Decode(tokens.ToArray(), skipSpecialTokens: false);
        await ApiResponses.WriteJsonAsync(context, new DetokenizeResponse(text), OpenAiJson.Api.DetokenizeResponse).ConfigureAwait(false);
    }
}
