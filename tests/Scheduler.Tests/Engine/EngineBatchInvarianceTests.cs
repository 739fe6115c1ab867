using Serving.Kernels.Models;
using Serving.Kernels.Sampling;
using Serving.Kernels.Tensors;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Tests.Engine;

/// <summary>Each of 32 requests (prompts of 1 to 400 tokens, 1 to 39 output tokens) gives, batched with the others,
/// the output it gives alone: with chunked prefill, with a KV
/// pool small enough to force preemptions, with prompts sharing prefixes, greedy and seeded.</summary>
public sealed class EngineBatchInvarianceTests
{
    private static readonly EngineConfig Config = new() { MaxBatchedTokens = 64, MaxSequences = 32 };

    [Theory]
    [InlineData(GgmlType.F32, 128, false, false)]
    [InlineData(GgmlType.Q4_0, 128, false, false)]
    [InlineData(GgmlType.Q4_0, 32, false, false)]
    [InlineData(GgmlType.Q8_0, 128, true, false)]
    [InlineData(GgmlType.F32, 32, true, true)]
    public void Batched_outputs_equal_outputs_alone(GgmlType type, int kvBlocks, bool sharedPrefixes, bool seeded)
    {
        using var model = EngineHarness.Model(type);
        var requests = Requests(model, count: 32, sharedPrefixes, seeded);

        var alone = requests.Select(r =>
        {
            using var harness = new EngineHarness(model, Config, 128);
            return harness.Run([harness.Engine.Submit(r)])[0];
        }).ToArray();

        using var together = new EngineHarness(model, Config, kvBlocks);
        var handles = requests.Select(together.Engine.Submit).ToArray();
        var outputs = together.Run(handles);
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal(alone[i], outputs[i]);
        }

        Assert.Equal(0, together.Engine.UsedBlocks);
        Assert.Equal(0, together.Engine.Running + together.Engine.Waiting);
        if (kvBlocks < 128)
        {
            Assert.True(together.Engine.Preemptions > 0, "the small pool should have forced preemptions");
        }

        if (sharedPrefixes)
        {
            Assert.True(together.Engine.PrefixCacheHitTokens > 0, "shared prefixes should hit the prefix cache");
        }
    }

    private static GenerationRequest[] Requests(LoadedModel model, int count, bool sharedPrefixes, bool seeded)
    {
        var random = new Random(17);
        var vocab = model.Config.VocabSize;
        var common = Enumerable.Range(0, 48).Select(_ => random.Next(3, vocab)).ToArray();
        return Enumerable.Range(0, count).Select(i =>
        {
            var length = random.Next(1, sharedPrefixes && i % 2 == 0 ? 400 - common.Length : 401);
            var prompt = Enumerable.Range(0, length).Select(_ => random.Next(3, vocab)).ToList();
            if (sharedPrefixes && i % 2 == 0)
            {
                prompt.InsertRange(0, common);
            }

            return new GenerationRequest
            {
                PromptTokens = prompt,
                MaxTokens = random.Next(1, 40),
                Sampling = seeded ? new SamplingParams { Temperature = 0.9f, TopP = 0.9f, Seed = (ulong)(1000 + i) } : SamplingParams.Greedy,
            };
        }).ToArray();
    }
}
