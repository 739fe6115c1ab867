using Google.Protobuf.Collections;
using Serving.Contracts.V1;
using Serving.Kernels.Sampling;
using Serving.Kernels.Tokenizers;
using Serving.Server.Inference;
using FinishReason = Serving.Contracts.V1.FinishReason;

namespace Serving.Server.Grpc;

/// <summary>Builds the proto messages of serving.v1 from the front-end-neutral <see cref="ChoiceUpdate"/>s.</summary>
internal static class ProtoMessages
{
    public static GenerateResponse Response(ChoiceUpdate update, ITokenizer tokenizer)
    {
        var response = new GenerateResponse { Index = update.Index, Text = update.Text, FinishReason = Reason(update.FinishReason) };
        response.TokenIds.AddRange(update.TokenIds);
        AddLogprobs(response.Logprobs, update.Logprobs, tokenizer);
        return response;
    }

    /// <summary>ChoiceStream's OpenAI finish reason names as the proto enum.</summary>
    public static FinishReason Reason(string? name) => name switch
    {
        null => FinishReason.Unspecified,
        "stop" => FinishReason.Stop,
        "length" => FinishReason.Length,
        _ => FinishReason.Abort,
    };

    public static void AddLogprobs(RepeatedField<TokenLogprob> target, IReadOnlyList<(int TokenId, TokenLogprobs Logprobs)>? entries, ITokenizer tokenizer)
    {
        foreach (var (token, logprobs) in entries ?? [])
        {
            var entry = new TokenLogprob { TokenId = token, Token = TokenStrings.Text(tokenizer, token), Logprob = logprobs.Logprob };
            foreach (var (alternative, value) in logprobs.Top)
            {
                entry.TopLogprobs.Add(new TopLogprob { TokenId = alternative, Token = TokenStrings.Text(tokenizer, alternative), Logprob = value });
            }

            target.Add(entry);
        }
    }
}
