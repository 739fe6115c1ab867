using System.Text;
using Serving.Kernels.Sampling;
using Serving.Kernels.Tokenizers;
using Serving.Scheduler.Generation;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Api.OpenAi;
using Serving.Server.Inference;
using Serving.Server.Telemetry;

namespace Serving.Server.Api.Endpoints;

/// <summary><c>POST /v1/completions</c>: one or more prompts, <c>n</c> samples each, streamed or not.</summary>
internal static class CompletionsEndpoint
{
    /// <summary>OpenAI's and vLLM's default when a completions request gives no max_tokens.</summary>
    public const int DefaultMaxTokens = 16;

    public static async Task HandleAsync(HttpContext context, InferenceService service, Security.StreamLimiter streams)
    {
        var request = await RequestBody.ReadAsync(context, OpenAiJson.Api.CompletionRequest).ConfigureAwait(false);
        var model = service.Require(request.Model);
        RequestTelemetry.Of(context)?.ForModel(model.Name);
        var tokenizer = model.Model.Tokenizer;
        var n = SamplingRequestBuilder.ValidateN(request.N);
        SamplingRequestBuilder.ValidateLogprobs(request.Logprobs);

        if (request.BestOf is { } bestOf && bestOf != n)
        {
            throw ApiException.BadRequest("best_of is not supported by this server (only best_of = n)", "best_of", "unsupported_parameter");
        }

        if (request.Suffix is { ValueKind: not System.Text.Json.JsonValueKind.Null })
        {
            throw ApiException.Unsupported("suffix");
        }

        var echo = request.Echo ?? false;
        if (echo && request.Logprobs is not null)
        {
            throw ApiException.BadRequest("echo together with logprobs is not supported (prompt logprobs are not computed)", "echo", "unsupported_parameter");
        }

        var prompts = PromptInput.Parse(request.Prompt, tokenizer, request.AddSpecialTokens ?? true);
        var requests = new GenerationRequest[prompts.Count];
        for (var i = 0; i < prompts.Count; i++)
        {
            requests[i] = SamplingRequestBuilder.Build(request, prompts[i], request.MaxTokens, DefaultMaxTokens, request.Logprobs, model.MaxModelLen, model.Model.Config.VocabSize, service.Options.MaxStopStrings);
        }

        var stream = request.Stream ?? false;
        using var lease = stream ? streams.Acquire(context) : null;
        var handles = service.Submit(model, requests, n);
        try
        {
            var id = "cmpl-" + Guid.NewGuid().ToString("N");
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var promptTokens = prompts.Sum(p => p.Length);
            var telemetry = RequestTelemetry.Of(context);
            telemetry?.Admitted(model.Name, promptTokens, requests[0].MaxTokens, n, handles);
            if (telemetry is { LogsPrompts: true })
            {
                telemetry.Prompt(string.Join("\n", prompts.Select(p => tokenizer.Decode(p, skipSpecialTokens: false))));
            }
            var echoes = echo ? prompts.Select(p => tokenizer.Decode(p, skipSpecialTokens: true)).ToArray() : null;
            if (stream)
            {
                await StreamAsync(context, request, model.Name, id, created, promptTokens, n, echoes, tokenizer, handles).ConfigureAwait(false);
            }
            else
            {
                await RespondAsync(context, model.Name, id, created, promptTokens, n, echoes, tokenizer, request.Logprobs is not null, handles).ConfigureAwait(false);
            }
        }
        finally
        {
            InferenceService.Abort(model, handles);
        }
    }

    private static async Task RespondAsync(
        HttpContext context, string modelName, string id, long created, int promptTokens, int n, string[]? echoes, ITokenizer tokenizer, bool logprobs, IReadOnlyList<Scheduler.Engine.RequestHandle> handles)
    {
        var texts = new StringBuilder[handles.Count];
        var logs = new List<(int TokenId, TokenLogprobs Logprobs)>?[handles.Count];
        var reasons = new string?[handles.Count];
        var completionTokens = 0;
        for (var i = 0; i < handles.Count; i++)
        {
            texts[i] = new StringBuilder(echoes?[i / n] ?? string.Empty);
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
                logs[update.Index]!.AddRange(lp);
            }

            reasons[update.Index] ??= update.FinishReason;
        }

        var choices = new CompletionChoice[handles.Count];
        for (var i = 0; i < choices.Length; i++)
        {
            choices[i] = new CompletionChoice(i, texts[i].ToString(), logs[i] is { } l ? Logprobs(tokenizer, l, 0) : null, reasons[i]);
        }

        await ApiResponses.WriteJsonAsync(context, new CompletionResponse(id, created, modelName, choices, new Usage(promptTokens, completionTokens)), OpenAiJson.Api.CompletionResponse).ConfigureAwait(false);
        telemetry?.Completed(id, firstReason ?? "abort", promptTokens, completionTokens, handles.Count);
    }

    private static async Task StreamAsync(
        HttpContext context, CompletionRequest request, string modelName, string id, long created, int promptTokens, int n, string[]? echoes, ITokenizer tokenizer, IReadOnlyList<Scheduler.Engine.RequestHandle> handles)
    {
        var includeUsage = request.StreamOptions?.IncludeUsage ?? false;
        var continuousUsage = request.StreamOptions?.ContinuousUsageStats ?? false;
        var offsets = new int[handles.Count];
        var completionTokens = 0;
        await ServerSentEvents.StartAsync(context).ConfigureAwait(false);
        if (echoes is not null)
        {
            for (var i = 0; i < handles.Count; i++)
            {
                var text = echoes[i / n];
                offsets[i] = text.Length;
                await ServerSentEvents.WriteAsync(context, Chunk(id, created, modelName, new CompletionChoice(i, text, null, null)), OpenAiJson.Api.CompletionResponse).ConfigureAwait(false);
            }
        }

        var telemetry = RequestTelemetry.Of(context);
        string? firstReason = null;
        await foreach (var update in ChoiceStream.ReadAsync(handles, context.RequestAborted).ConfigureAwait(false))
        {
            telemetry?.Update(update.Index, update.Tokens, update.Text);
            firstReason ??= update.FinishReason;
            completionTokens += update.Tokens;
            var logprobs = update.Logprobs is { } lp ? Logprobs(tokenizer, lp, offsets[update.Index]) : null;
            offsets[update.Index] += update.Text.Length;
            var usage = continuousUsage ? new Usage(promptTokens, completionTokens) : null;
            await ServerSentEvents.WriteAsync(context, new CompletionResponse(id, created, modelName, [new CompletionChoice(update.Index, update.Text, logprobs, update.FinishReason)], usage), OpenAiJson.Api.CompletionResponse).ConfigureAwait(false);
        }

        if (includeUsage)
        {
            await ServerSentEvents.WriteAsync(context, new CompletionResponse(id, created, modelName, [], new Usage(promptTokens, completionTokens)), OpenAiJson.Api.CompletionResponse).ConfigureAwait(false);
        }

        await ServerSentEvents.DoneAsync(context).ConfigureAwait(false);
        telemetry?.Completed(id, firstReason ?? "abort", promptTokens, completionTokens, handles.Count);
    }

    private static CompletionResponse Chunk(string id, long created, string model, CompletionChoice choice) => new(id, created, model, [choice], null);

    private static CompletionLogprobs Logprobs(ITokenizer tokenizer, IReadOnlyList<(int TokenId, TokenLogprobs Logprobs)> entries, int offset)
    {
        var tokens = new string[entries.Count];
        var values = new float[entries.Count];
        var tops = new Dictionary<string, float>[entries.Count];
        var offsets = new int[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var (token, lp) = entries[i];
            tokens[i] = TokenStrings.Text(tokenizer, token);
            values[i] = lp.Logprob;
            offsets[i] = offset;
            offset += tokens[i].Length;
            var top = new Dictionary<string, float>(lp.Top.Count);
            foreach (var (alternative, value) in lp.Top)
            {
                top.TryAdd(TokenStrings.Text(tokenizer, alternative), value);
            }

            tops[i] = top;
        }

        return new CompletionLogprobs(tokens, values, tops, offsets);
    }
}
