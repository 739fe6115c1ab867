using Serving.Kernels.Models;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Kernels.Sampling;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Runner;

public sealed class RunnerBehaviourTests
{
    [Fact]
    public void Decode_steps_allocate_nothing()
    {
        var config = SyntheticPreset.Get("tiny");
        using var model = new InMemoryModel(config, GgmlType.Q4_0, 1);
        using var runner = new CpuModelRunner(config, model.Weights, new KvCacheConfig(8, 16), new CpuRunnerOptions { MaxTokensPerStep = 16, Threads = 2 });
        var step = new StepInput(16, 1, 8, 16);
        var table = new[] { 3, 1, 4, 0, 5, 2, 7, 6 };
        var logits = new float[config.VocabSize];
        var sampler = new Sampler(new SamplingParams { Temperature = 0.7f, TopP = 0.9f, Seed = 3 }, config.VocabSize);
        var token = new[] { 1 };
        void Decode(int position)
        {
            step.Clear();
            step.AddSequence(token, position, table, 1);
            runner.Execute(step, logits);
            token[0] = sampler.Sample(logits);
        }

        for (var p = 0; p < 8; p++)
        {
            Decode(p);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var p = 8; p < 100; p++)
        {
            Decode(p);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Bad_steps_are_refused_with_clear_messages()
    {
        var config = RunnerAgreementTests.SmallConfig();
        using var model = new InMemoryModel(config, GgmlType.F32, 1);
        using var runner = new CpuModelRunner(config, model.Weights, new KvCacheConfig(4, 4), new CpuRunnerOptions { MaxTokensPerStep = 8 });
        var logits = new float[8 * config.VocabSize];

        var tooMany = new StepInput(16, 1, 4, 4);
        tooMany.AddSequence(new int[9], 0, [0, 1, 2], 1);
        Assert.Contains("at most 8", Assert.Throws<ArgumentException>(() => runner.Execute(tooMany, logits)).Message, StringComparison.Ordinal);

        var badToken = new StepInput(8, 1, 4, 4);
        badToken.AddSequence([config.VocabSize], 0, [0], 1);
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => runner.Execute(badToken, logits)).Message, StringComparison.Ordinal);

        var badSlot = new StepInput(8, 1, 4, 4);
        badSlot.AddSequence([1], 0, [9], 1);
        Assert.Contains("outside the KV pool", Assert.Throws<ArgumentException>(() => runner.Execute(badSlot, logits)).Message, StringComparison.Ordinal);

        var otherBlocks = new StepInput(8, 1, 4, 8);
        otherBlocks.AddSequence([1], 0, [0], 1);
        Assert.Contains("blocks of 8", Assert.Throws<ArgumentException>(() => runner.Execute(otherBlocks, logits)).Message, StringComparison.Ordinal);

        var ok = new StepInput(8, 1, 4, 4);
        ok.AddSequence([1, 2], 0, [0], 2);
        Assert.Contains("logits buffer", Assert.Throws<ArgumentException>(() => runner.Execute(ok, new float[config.VocabSize])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Step_input_checks_capacity_and_block_tables()
    {
        var step = new StepInput(4, 1, 2, 4);
        Assert.Throws<ArgumentException>(() => step.AddSequence([], 0, [0], 0));
        Assert.Throws<ArgumentException>(() => step.AddSequence([1, 2], 7, [0], 1));
        Assert.Throws<InvalidOperationException>(() => step.AddSequence([1, 2, 3, 4, 5], 0, [0, 1], 1));
        Assert.Equal(0, step.AddSequence([1, 2], 3, [5, 6], 2));
        Assert.Equal([23, 24], step.SlotMapping.ToArray());
        Assert.Throws<InvalidOperationException>(() => step.AddSequence([1], 0, [0], 1));
    }

    [Fact]
    public unsafe void Qwen2_biases_match_reference()
    {
        var config = RunnerAgreementTests.SmallConfig() with { Architecture = "qwen2", AttentionBias = true, RopeLayout = RopeLayout.HalfSplit };
        using var model = new InMemoryModel(config, GgmlType.F32, 13);
        var random = new Random(4);
        var buffers = new List<Serving.Kernels.Cpu.NativeBuffer<float>>();
        WeightTensor Bias(string name, int length)
        {
            var buffer = new Serving.Kernels.Cpu.NativeBuffer<float>(length);
            buffers.Add(buffer);
            for (var i = 0; i < length; i++)
            {
                buffer.Pointer[i] = (float)(random.NextDouble() - 0.5);
            }

            return new WeightTensor(name, GgmlType.F32, [length], (nint)buffer.Pointer, length * sizeof(float));
        }

        var weights = model.Weights with
        {
            Layers = model.Weights.Layers.Select(l => l with
            {
                QueryBias = Bias("q.bias", config.QDim),
                KeyBias = Bias("k.bias", config.KvDim),
                ValueBias = Bias("v.bias", config.KvDim),
            }).ToArray(),
        };

        try
        {
            var reference = new ReferenceForward(config, weights);
            using var runner = new CpuModelRunner(config, weights, new KvCacheConfig(4, 4), new CpuRunnerOptions { MaxTokensPerStep = 8 });
            var step = new StepInput(8, 1, 4, 4);
            int[] tokens = [5, 17, 33, 2, 90];
            step.AddSequence(tokens, 0, [2, 0], tokens.Length);
            var logits = new float[tokens.Length * config.VocabSize];
            runner.Execute(step, logits);
            for (var t = 0; t < tokens.Length; t++)
            {
                var expected = reference.Next(tokens[t]);
                var scale = expected.Max(Math.Abs);
                for (var i = 0; i < config.VocabSize; i++)
                {
                    Assert.True(Math.Abs(logits[(t * config.VocabSize) + i] - expected[i]) <= 1e-4 * scale);
                }
            }
        }
        finally
        {
            buffers.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public void Kv_pool_from_a_memory_budget_matches_what_the_runner_allocates()
    {
        var config = SyntheticPreset.Get("tiny");
        var kv = KvCacheConfig.ForMemory(10L << 20, config);
        Assert.Equal(2L * 4 * 16 * 64 * 4, KvCacheConfig.BytesPerBlock(config));
        Assert.Equal((10L << 20) / KvCacheConfig.BytesPerBlock(config), kv.BlockCount);
        using var model = new InMemoryModel(config, GgmlType.Q4_0, 1);
        using var runner = new CpuModelRunner(config, model.Weights, kv);
        Assert.Equal(kv.BlockCount * KvCacheConfig.BytesPerBlock(config), runner.KvCacheBytes);
        Assert.Contains("holds no block", Assert.Throws<ArgumentException>(() => KvCacheConfig.ForMemory(1000, config)).Message, StringComparison.Ordinal);
    }
}
