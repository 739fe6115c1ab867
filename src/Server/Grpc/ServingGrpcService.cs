using System.Text;
using Grpc.Core;
using Serving.Contracts.V1;
using Serving.Server.Api.Security;
using Serving.Server.Inference;
using Serving.Server.Telemetry;
using ServingApi = Serving.Contracts.V1.Serving;

namespace Serving.Server.Grpc;

/// <summary>
/// The <c>serving.v1.Serving</c> service: the gRPC twin of the REST API over the same <see cref="InferenceService"/>.
/// Refusals are thrown as <see cref="Api.Errors.ApiException"/> and turned into statuses by
/// <see cref="GrpcErrorInterceptor"/>; a cancelled call aborts its engine requests on the way out.
/// </summary>
internal sealed class ServingGrpcService : ServingApi.ServingBase
{
    private readonly InferenceService _service;
    private readonly StreamLimiter _streams;

    public ServingGrpcService(InferenceService service, StreamLimiter streams)
    {
        _service = service;
        _streams = streams;
    }

    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        RequestTelemetry.Of(context.GetHttpContext())?.ForModel(_service.Require(request.HasModel ? request.Model : null).Name);
        var prepared = GenerateRequestMapper.Prepare(_service, request);
        using var lease = _streams.Acquire(context.GetHttpContext());
        var handles = _service.Submit(prepared.Model, [prepared.Request], prepared.N);
        var telemetry = Admitted(context, prepared, handles);
        try
        {
            var tokenizer = prepared.Model.Model.Tokenizer;
            var completionTokens = 0;
            string? finish = null;
            await foreach (var update in ChoiceStream.ReadAsync(handles, context.CancellationToken))
            {
                completionTokens += update.Tokens;
                finish ??= update.FinishReason;
                telemetry?.Update(update.Index, update.Tokens, update.Text);
                await responseStream.WriteAsync(ProtoMessages.Response(update, tokenizer), context.CancellationToken);
            }

            await responseStream.WriteAsync(new GenerateResponse { Usage = Usage(prepared, completionTokens) }, context.CancellationToken);
            telemetry?.Completed(ResponseId(context), finish ?? "abort", prepared.PromptTokens, completionTokens, handles.Count);
        }
        finally
        {
            InferenceService.Abort(prepared.Model, handles);
        }
    }

    public override async Task<CompleteResponse> Complete(GenerateRequest request, ServerCallContext context)
    {
        RequestTelemetry.Of(context.GetHttpContext())?.ForModel(_service.Require(request.HasModel ? request.Model : null).Name);
        var prepared = GenerateRequestMapper.Prepare(_service, request);
        var handles = _service.Submit(prepared.Model, [prepared.Request], prepared.N);
        var telemetry = Admitted(context, prepared, handles);
        try
        {
            var tokenizer = prepared.Model.Model.Tokenizer;
            string? finish = null;
            var choices = new Choice[handles.Count];
            var texts = new StringBuilder[handles.Count];
            for (var i = 0; i < choices.Length; i++)
            {
                choices[i] = new Choice { Index = i };
                texts[i] = new StringBuilder();
            }

            var completionTokens = 0;
            await foreach (var update in ChoiceStream.ReadAsync(handles, context.CancellationToken))
            {
                var choice = choices[update.Index];
                finish ??= update.FinishReason;
                telemetry?.Update(update.Index, update.Tokens, update.Text);
                texts[update.Index].Append(update.Text);
                choice.TokenIds.AddRange(update.TokenIds);
                ProtoMessages.AddLogprobs(choice.Logprobs, update.Logprobs, tokenizer);
                if (update.FinishReason is { } reason)
                {
                    choice.FinishReason = ProtoMessages.Reason(reason);
                }

                completionTokens += update.Tokens;
            }

            var response = new CompleteResponse { Usage = Usage(prepared, completionTokens) };
            for (var i = 0; i < choices.Length; i++)
            {
                choices[i].Text = texts[i].ToString();
                response.Choices.Add(choices[i]);
            }

            telemetry?.Completed(ResponseId(context), finish ?? "abort", prepared.PromptTokens, completionTokens, handles.Count);
            return response;
        }
        finally
        {
            InferenceService.Abort(prepared.Model, handles);
        }
    }

    public override Task<TokenizeResponse> Tokenize(TokenizeRequest request, ServerCallContext context)
    {
        var model = _service.Require(request.HasModel ? request.Model : null);
        var tokens = model.Model.Tokenizer.Encode(request.Text, !request.HasAddSpecialTokens || request.AddSpecialTokens);
        var response = new TokenizeResponse { Count = tokens.Length, MaxModelLen = model.MaxModelLen };
        response.TokenIds.AddRange(tokens);
        return Task.FromResult(response);
    }

    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var model = _service.Require(null);
        var response = new ListModelsResponse();
        response.Models.Add(new Model { Id = model.Name, Created = model.Created, MaxModelLen = model.MaxModelLen });
        return Task.FromResult(response);
    }

    private static RequestTelemetry? Admitted(ServerCallContext context, PreparedGeneration prepared, IReadOnlyList<Scheduler.Engine.RequestHandle> handles)
    {
        var telemetry = RequestTelemetry.Of(context.GetHttpContext());
        telemetry?.Admitted(prepared.Model.Name, prepared.PromptTokens, prepared.Request.MaxTokens, prepared.N, handles);
        return telemetry;
    }

    private static string ResponseId(ServerCallContext context) => "grpc-" + context.GetHttpContext().TraceIdentifier;

    private static Usage Usage(PreparedGeneration prepared, int completionTokens) =>
        new() { PromptTokens = prepared.PromptTokens, CompletionTokens = completionTokens };
}
