using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Tests.Engine;

/// <summary>Ending every request at once: <see cref="LlmEngine.AbortAll"/> at the end of a drain, and
/// <see cref="LlmEngine.FailAll"/> after a runner failure killed the engine loop, so no reader hangs.</summary>
public sealed class EngineFailureTests
{
    [Fact]
    public async Task RunnerFailure_EndsTheLoop_AndFailAllEndsEveryRequest()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var runner = new FailingRunner(model.Config);
        using var engine = new LlmEngine(model, runner, new EngineConfig());
        var handles = Enumerable.Range(0, 3).Select(i => engine.Submit(new GenerationRequest { PromptTokens = [1, 5 + i], MaxTokens = 4 })).ToArray();

        await Assert.ThrowsAsync<InvalidOperationException>(() => engine.RunAsync(TestContext.Current.CancellationToken));
        var late = engine.Submit(new GenerationRequest { PromptTokens = [1, 9], MaxTokens = 4 });
        engine.FailAll();

        foreach (var handle in handles.Append(late))
        {
            Assert.Equal(FinishReason.Abort, await handle.Completion.WaitAsync(TestContext.Current.CancellationToken));
            Assert.True(handle.Output.Completion.IsCompleted);
        }
    }

    [Fact]
    public void AbortAll_EndsRunningAndJustSubmittedRequests_AndFreesTheirBlocks()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 64);
        var engine = harness.Engine;
        var running = Enumerable.Range(0, 3).Select(i => engine.Submit(new GenerationRequest { PromptTokens = [1, 5 + i], MaxTokens = 500, IgnoreEos = true })).ToArray();
        for (var i = 0; i < 3; i++)
        {
            engine.Step();
        }

        var pending = engine.Submit(new GenerationRequest { PromptTokens = [1, 9], MaxTokens = 500, IgnoreEos = true });
        Assert.True(engine.UsedBlocks > 0);
        engine.AbortAll();
        engine.Step();

        Assert.All(running.Append(pending), h =>
        {
            Assert.True(h.Completion.IsCompleted, "the request did not end");
            Assert.Equal(FinishReason.Abort, h.Completion.Result);
        });
        Assert.Equal(0, engine.UsedBlocks);
        Assert.Equal(0, engine.Running + engine.Waiting);
    }

    private sealed class FailingRunner(ModelConfig config) : IModelRunner
    {
        public ModelConfig Config => config;

        public KvCacheConfig KvCache { get; } = new(64);

        public void Execute(StepInput input, Span<float> logits) => throw new InvalidOperationException("device lost");

        public void Dispose()
        {
        }
    }
}
