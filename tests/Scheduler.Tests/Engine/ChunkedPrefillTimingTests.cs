using Microsoft.Extensions.Time.Testing;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Tests.Engine;

/// <summary>
/// Chunked prefill measured on a clock: a runner whose steps cost a fixed time plus a time per token advances an
/// injected <see cref="FakeTimeProvider"/>, and the test reads when each decoding request receives each token.
/// </summary>
public sealed class ChunkedPrefillTimingTests
{
    private static readonly TimeSpan PerStep = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan PerToken = TimeSpan.FromMilliseconds(1);

    [Theory]
    [InlineData(64)]
    [InlineData(256)]
    public void A_long_prompt_delays_no_decode_step_by_more_than_one_chunk(int budget)
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        var time = new FakeTimeProvider();
        using var runner = new CostModelRunner(model.Config, new KvCacheConfig(512, 16), time, PerStep, PerToken);
        using var engine = new LlmEngine(model, runner, new EngineConfig { MaxBatchedTokens = budget, MaxSequences = 16 }, timeProvider: time);
        var decoders = Enumerable.Range(0, 8).Select(i => engine.Submit(Request(4 + i, 400))).ToArray();
        var arrivals = decoders.Select(_ => new List<DateTimeOffset>()).ToArray();
        for (var i = 0; i < 3; i++)
        {
            engine.Step();
            Record(decoders, arrivals, time);
        }

        var prompt = engine.Submit(Request(2000, 3));
        var promptSubmitted = time.GetUtcNow();
        var firstStepWithPrompt = runner.StepTokens.Count;
        DateTimeOffset? promptFirstToken = null;
        while (!prompt.Completion.IsCompleted)
        {
            Assert.True(engine.Step());
            Record(decoders, arrivals, time);
            if (promptFirstToken is null && prompt.Output.TryRead(out _))
            {
                promptFirstToken = time.GetUtcNow();
            }

            Assert.True(runner.StepTokens.Count < firstStepWithPrompt + 500, "the prompt never finished");
        }

        // Every step while the prompt was prefilled carried all eight decoders and at most the budget.
        var prefillSteps = runner.StepTokens.Skip(firstStepWithPrompt).ToList();
        Assert.All(prefillSteps, tokens => Assert.InRange(tokens, 8, budget));
        Assert.True(prefillSteps.Count >= 2000 / budget, $"the prompt went through in {prefillSteps.Count} steps");

        // So a decoder waits at most one step of a full budget between two tokens: its own token plus one chunk.
        var bound = runner.Cost(budget);
        var unchunked = runner.Cost(2000 + 8);
        for (var d = 0; d < decoders.Length; d++)
        {
            for (var i = 1; i < arrivals[d].Count; i++)
            {
                var gap = arrivals[d][i] - arrivals[d][i - 1];
                Assert.True(gap <= bound, $"decoder {d} waited {gap.TotalMilliseconds} ms for token {i}; one chunk is {bound.TotalMilliseconds} ms");
            }
        }

        Assert.True(bound * 4 < unchunked, "the test's prompt is too short to show chunking");
        Assert.NotNull(promptFirstToken);
        Assert.True(promptFirstToken - promptSubmitted >= runner.Cost(2000 - budget), "the prompt cannot have been computed faster than its tokens cost");
    }

    private static GenerationRequest Request(int promptLength, int maxTokens) => new()
    {
        PromptTokens = Enumerable.Range(0, promptLength).Select(t => 3 + (t % 200)).ToList(),
        MaxTokens = maxTokens,
        IgnoreEos = true,
    };

    private static void Record(RequestHandle[] decoders, List<DateTimeOffset>[] arrivals, FakeTimeProvider time)
    {
        for (var d = 0; d < decoders.Length; d++)
        {
            while (decoders[d].Output.TryRead(out var piece))
            {
                if (piece.TokenId >= 0)
                {
                    arrivals[d].Add(time.GetUtcNow());
                }
            }
        }
    }
}
