using System.Text;
using System.Text.Json;
using Serving.Kernels.Sampling;
using Serving.Kernels.Tokenizers;
using Serving.Scheduler.Engine;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Api.OpenAi;
using Serving.Server.Api.Security;
using Serving.Server.Inference;
using Serving.Server.Telemetry;

namespace Serving.Server.Api.Endpoints;

/// <summary><c>POST /v1/chat/completions</c>: the conversation rendered with the model's chat template, <c>n</c>
/// samples, streamed (role delta first, content deltas, finish reason, optional usage chunk, <c>[DONE]</c>) or
/// not.</summary>
internal static class ChatCompletionsEndpoint
{
    public static async Task HandleAsync(HttpContext context, InferenceService service, StreamLimiter streams, TimeProvider time)
    {
        var request = await RequestBody.ReadAsync(context, OpenAiJson.Api.ChatCompletionRequest).ConfigureAwait(false);
        var model = service.Require(request.Model);
        RequestTelemetry.Of(context)?.ForModel(model.Name);
        RefuseUnsupported(request);
        var n = SamplingRequestBuilder.ValidateN(request.N);
        if (request.TopLogprobs is < 0 or > 20)
        {
            throw ApiException.BadRequest($"top_logprobs must be in [0, 20], got {request.TopLogprobs}", "top_logprobs");
        }

        if (request.TopLogprobs is not null && request.Logprobs != true)
        {
            throw ApiException.BadRequest("top_logprobs needs logprobs set to true", "top_logprobs");
        }

        int? logprobs = request.Logprobs == true ? request.TopLogprobs ?? 0 : null;
        var continueFinal = request.ContinueFinalMessage ?? false;
        var (promptText, prompt) = ChatPrompt.Render(model, request.Messages, request.AddGenerationPrompt ?? !continueFinal, continueFinal, request.ChatTemplateKwargs, time);
        RequestTelemetry.Of(context)?.Prompt(promptText);
        var generation = SamplingRequestBuilder.Build(request, prompt, request.MaxCompletionTokens ?? request.MaxTokens, null, logprobs, model.MaxModelLen, model.Model.Config.VocabSize, service.Options.MaxStopStrings);

        var stream = request.Stream ?? false;
        using var lease = stream ? streams.Acquire(context) : null;
        var handles = service.Submit(model, [generation], n);
        try
        {
            var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
            var created = time.GetUtcNow().ToUnixTimeSeconds();
            RequestTelemetry.Of(context)?.Admitted(model.Name, prompt.Length, generation.MaxTokens, n, handles);
            if (stream)
            {
                await StreamAsync(context, request.StreamOptions, model.Name, id, created, prompt.Length, model.Model.Tokenizer, handles).ConfigureAwait(false);
            }
            else
            {
                await RespondAsync(context, model.Name, id, created, prompt.Length, model.Model.Tokenizer, logprobs is not null, handles).ConfigureAwait(false);
            }
        }
        finally
        {
            InferenceService.Abort(model, handles);
        }
    }

    private static async Task RespondAsync(HttpContext context, string modelName, string id, long created, int promptTokens, ITokenizer tokenizer, bool logprobs, IReadOnlyList<RequestHandle> handles)
    {
        var texts = new StringBuilder[handles.Count];
        var logs = new List<ChatTokenLogprob>?[handles.Count];
        var reasons = new string?[handles.Count];
        var completionTokens = 0;
        for (var i = 0; i < handles.Count; i++)
        {
            texts[i] = new StringBuilder();
            logs[i] = logprobs ? [] : null;
        }

        var telemetry = RequestTelemetry.Of(context);
        string? firstReason = null;
        await foreach (var update in ChoiceStream.ReadAsync(handles, context.RequestAborted).ConfigureAwait(false))
        {
            telemetry?.Update(update.Index, update.Tokens, update.Text);
            firstReason ??= update.FinishReason;
            texts[update.Index].Append(update.Text);
            completionTokens += update.Tokens;
            if (update.Logprobs is { } lp)
            {
                logs[update.Index]!.AddRange(Logprobs(tokenizer, lp));
            }

            reasons[update.Index] ??= update.FinishReason;
        }

        var choices = new ChatChoice[handles.Count];
        for (var i = 0; i < choices.Length; i++)
        {
            choices[i] = new ChatChoice(i, new ChatResponseMessage("assistant", texts[i].ToString()), logs[i] is { } l ? new ChatLogprobs(l) : null, reasons[i]);
        }

        await ApiResponses.WriteJsonAsync(context, new ChatCompletionResponse(id, created, modelName, choices, new Usage(promptTokens, completionTokens)), OpenAiJson.Api.ChatCompletionResponse).ConfigureAwait(false);
        telemetry?.Completed(id, firstReason ?? "abort", promptTokens, completionTokens, handles.Count);
    }

    private static async Task StreamAsync(HttpContext context, StreamOptions? options, string modelName, string id, long created, int promptTokens, ITokenizer tokenizer, IReadOnlyList<RequestHandle> handles)
    {
        var completionTokens = 0;
        var includeUsage = options?.IncludeUsage ?? false;
        var continuousUsage = options?.ContinuousUsageStats ?? false;
        await ServerSentEvents.StartAsync(context).ConfigureAwait(false);
        for (var i = 0; i < handles.Count; i++)
        {
            await ServerSentEvents.WriteAsync(context, Chunk(id, created, modelName, new ChatChunkChoice(i, new ChatDelta("assistant", string.Empty), null, null)), OpenAiJson.Api.ChatCompletionChunk).ConfigureAwait(false);
        }

        var telemetry = RequestTelemetry.Of(context);
        string? firstReason = null;
        await foreach (var update in ChoiceStream.ReadAsync(handles, context.RequestAborted).ConfigureAwait(false))
        {
            telemetry?.Update(update.Index, update.Tokens, update.Text);
            firstReason ??= update.FinishReason;
            completionTokens += update.Tokens;
            var logprobs = update.Logprobs is { } lp ? new ChatLogprobs(Logprobs(tokenizer, lp)) : null;
            var delta = update.FinishReason is null || update.Text.Length > 0 ? new ChatDelta(null, update.Text) : new ChatDelta(null, null);
            var usage = continuousUsage ? new Usage(promptTokens, completionTokens) : null;
            await ServerSentEvents.WriteAsync(context, new ChatCompletionChunk(id, created, modelName, [new ChatChunkChoice(update.Index, delta, logprobs, update.FinishReason)], usage), OpenAiJson.Api.ChatCompletionChunk).ConfigureAwait(false);
        }

        if (includeUsage)
        {
            await ServerSentEvents.WriteAsync(context, new ChatCompletionChunk(id, created, modelName, [], new Usage(promptTokens, completionTokens)), OpenAiJson.Api.ChatCompletionChunk).ConfigureAwait(false);
        }

        await ServerSentEvents.DoneAsync(context).ConfigureAwait(false);
        telemetry?.Completed(id, firstReason ?? "abort", promptTokens, completionTokens, handles.Count);
    }

    private static ChatCompletionChunk Chunk(string id, long created, string model, ChatChunkChoice choice) => new(id, created, model, [choice], null);

    private static List<ChatTokenLogprob> Logprobs(ITokenizer tokenizer, IReadOnlyList<(int TokenId, TokenLogprobs Logprobs)> entries)
    {
        var result = new List<ChatTokenLogprob>(entries.Count);
        foreach (var (token, lp) in entries)
        {
            var top = new ChatTopLogprob[lp.Top.Count];
            for (var i = 0; i < top.Length; i++)
            {
                var (alternative, value) = lp.Top[i];
                top[i] = new ChatTopLogprob(TokenStrings.Text(tokenizer, alternative), value, TokenStrings.Bytes(tokenizer, alternative));
            }

            result.Add(new ChatTokenLogprob(TokenStrings.Text(tokenizer, token), lp.Logprob, TokenStrings.Bytes(tokenizer, token), top));
        }

        return result;
    }

    private static void RefuseUnsupported(ChatCompletionRequest request)
    {
        if (request.Tools is { ValueKind: not JsonValueKind.Null } tools && !(tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() == 0))
        {
            throw ApiException.BadRequest("tools (function calling) is not supported by this server", "tools", "unsupported_parameter");
        }

        if (request.ToolChoice is { ValueKind: not JsonValueKind.Null } choice && !(choice.ValueKind == JsonValueKind.String && choice.ValueEquals("none")))
        {
            throw ApiException.BadRequest("tool_choice other than \"none\" is not supported by this server", "tool_choice", "unsupported_parameter");
        }

        if (request.ParallelToolCalls is { ValueKind: not (JsonValueKind.Null or JsonValueKind.True or JsonValueKind.False) })
        {
            throw ApiException.BadRequest("parallel_tool_calls must be a boolean", "parallel_tool_calls");
        }

        if (request.Modalities is { ValueKind: not JsonValueKind.Null } modalities
            && !(modalities.ValueKind == JsonValueKind.Array && modalities.EnumerateArray().All(m => m.ValueKind == JsonValueKind.String && m.ValueEquals("text"))))
        {
            throw ApiException.BadRequest("only the text modality is supported by this server", "modalities", "unsupported_parameter");
        }

        foreach (var (name, value) in new[]
        {
            ("functions", request.Functions), ("function_call", request.FunctionCall), ("audio", request.Audio),
            ("prediction", request.Prediction), ("reasoning_effort", request.ReasoningEffort), ("web_search_options", request.WebSearchOptions),
        })
        {
            if (value is { ValueKind: not JsonValueKind.Null })
            {
                throw ApiException.Unsupported(name);
            }
        }
    }
}
