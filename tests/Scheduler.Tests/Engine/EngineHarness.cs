using Serving.Kernels.Models;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;
using Serving.Kernels.Tokenizers;
using Serving.Scheduler.Engine;

namespace Serving.Scheduler.Tests.Engine;

/// <summary>A real engine over the real CPU runner on a small random model, stepped by the test thread.</summary>
internal sealed class EngineHarness : IDisposable
{
    private readonly CpuModelRunner _runner;

    public EngineHarness(LoadedModel model, EngineConfig config, int kvBlocks)
    {
        _runner = new CpuModelRunner(model, new KvCacheConfig(kvBlocks, 16), new CpuRunnerOptions { MaxTokensPerStep = config.MaxBatchedTokens, MaxSequences = config.MaxSequences, Threads = 2 });
        Engine = new LlmEngine(model, _runner, config);
    }

    public LlmEngine Engine { get; }

    public static LoadedModel Model(GgmlType type)
    {
        var config = SyntheticPreset.Get("tiny");
        var weights = new InMemoryModel(config, type, 5);
        return new LoadedModel("test", config, weights.Weights, TokenizerFactory.Create(SyntheticVocabulary.Create(config.VocabSize)), [weights]);
    }

    /// <summary>Steps until every request has ended, reading outputs as they come; returns each one's tokens.</summary>
    public List<int>[] Run(IReadOnlyList<RequestHandle> handles, int maxSteps = 10_000)
    {
        var outputs = handles.Select(_ => new List<int>()).ToArray();
        for (var step = 0; step < maxSteps && !handles.All(h => h.Completion.IsCompleted); step++)
        {
            Engine.Step();
            Drain(handles, outputs);
        }

        Drain(handles, outputs);
        Assert.All(handles, h => Assert.True(h.Completion.IsCompleted, "request did not finish"));
        return outputs;
    }

    public void Dispose()
    {
        Engine.Dispose();
        _runner.Dispose();
    }

    private static void Drain(IReadOnlyList<RequestHandle> handles, List<int>[] outputs)
    {
        for (var i = 0; i < handles.Count; i++)
        {
            while (handles[i].Output.TryRead(out var piece))
            {
                if (piece.TokenId >= 0)
                {
                    outputs[i].Add(piece.TokenId);
                }
            }
        }
    }
}
