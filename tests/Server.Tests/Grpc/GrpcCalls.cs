using Grpc.Core;
using Serving.Contracts.V1;
using ServingApi = Serving.Contracts.V1.Serving;

namespace Serving.Server.Tests.Grpc;

/// <summary>Helpers for calling serving.v1 from tests.</summary>
internal static class GrpcCalls
{
    public static async Task<List<GenerateResponse>> GenerateAsync(ServingApi.ServingClient client, GenerateRequest request, Metadata? headers = null)
    {
        using var call = client.Generate(request, headers, cancellationToken: TestContext.Current.CancellationToken);
        var messages = new List<GenerateResponse>();
        await foreach (var message in call.ResponseStream.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            messages.Add(message);
        }

        return messages;
    }

    public static GenerateRequest Text(string prompt, int maxTokens, float temperature = 0f) =>
        new() { Text = new TextPrompt { Text = prompt }, MaxTokens = maxTokens, Temperature = temperature };
}
