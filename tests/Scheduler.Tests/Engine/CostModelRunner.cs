using Microsoft.Extensions.Time.Testing;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;

namespace Serving.Scheduler.Tests.Engine;

/// <summary>
/// A runner that computes nothing and charges time instead: each step advances a fake clock by a fixed cost plus a
/// cost per token, the shape of a compute-bound CPU step. Every logits row puts all weight on
/// <see cref="Token"/>, so greedy decoding is deterministic.
/// </summary>
internal sealed class CostModelRunner(ModelConfig config, KvCacheConfig kvCache, FakeTimeProvider time, TimeSpan perStep, TimeSpan perToken)
    : IModelRunner
{
    public const int Token = 7;

    public ModelConfig Config => config;

    public KvCacheConfig KvCache => kvCache;

    /// <summary>Tokens of each step, in order.</summary>
    public List<int> StepTokens { get; } = [];

    /// <summary>What a step of <paramref name="tokens"/> tokens costs.</summary>
    public TimeSpan Cost(int tokens) => perStep + (perToken * tokens);

    public void Execute(StepInput input, Span<float> logits)
    {
        var vocab = config.VocabSize;
        var rows = logits[..(input.LogitsRowCount * vocab)];
        rows.Clear();
        for (var r = 0; r < input.LogitsRowCount; r++)
        {
            rows[(r * vocab) + Token] = 1;
        }

        StepTokens.Add(input.TokenCount);
        time.Advance(Cost(input.TokenCount));
    }

    public void Dispose()
    {
    }
}
