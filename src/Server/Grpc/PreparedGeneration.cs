using Serving.Scheduler.Generation;
using Serving.Server.Hosting;

namespace Serving.Server.Grpc;

/// <summary>A validated gRPC generation, ready to submit: the engine request and <paramref name="N"/> samples of it.</summary>
internal sealed record PreparedGeneration(ServedModel Model, GenerationRequest Request, int N, int PromptTokens)
{
    /// <summary>Whether each token's logprob is returned.</summary>
    public bool Logprobs => Request.Sampling.Logprobs is not null;
}
