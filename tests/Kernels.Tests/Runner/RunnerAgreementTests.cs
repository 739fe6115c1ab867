using Serving.Kernels.Models;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Runner;

/// <summary>
/// The CPU runner against <see cref="ReferenceForward"/> on random models with grouped-query attention, several
/// sequences of mixed lengths per step, multi-token steps on top of cached context, and scattered KV blocks.
/// Error is measured per logits row as max |fast − reference| / max |reference|.
/// </summary>
public sealed class RunnerAgreementTests
{
    /// <summary>Tolerances: fp32/fp16/bf16 weights are used exactly as stored with fp32 activations, so only
    /// summation order differs (1e-4). The Q8_0 and Q4_0 kernels quantize activations to int8 per block of 32
    /// (relative step 1/254 of the block maximum), which through two layers of a 64-wide model gives errors of 1-3% (wider models average more of it out); 5e-2 is the
    /// bound for 8-bit activations.</summary>
    [Theory]
    [InlineData(GgmlType.F32, RopeLayout.Interleaved, 1e-4)]
    [InlineData(GgmlType.F32, RopeLayout.HalfSplit, 1e-4)]
    [InlineData(GgmlType.F16, RopeLayout.Interleaved, 1e-4)]
    [InlineData(GgmlType.BF16, RopeLayout.HalfSplit, 1e-4)]
    [InlineData(GgmlType.Q8_0, RopeLayout.Interleaved, 5e-2)]
    [InlineData(GgmlType.Q4_0, RopeLayout.Interleaved, 5e-2)]
    public void Mixed_batches_match_reference(GgmlType type, RopeLayout layout, double tolerance)
    {
        var config = SmallConfig() with { RopeLayout = layout };
        using var model = new InMemoryModel(config, type, seed: 7);
        var worst = RunScript(config, model.Weights);
        Assert.True(worst <= tolerance, $"max relative logit error {worst:E3} exceeds {tolerance:E1}");
    }

    /// <summary>The k-quant kernels on a model whose rows are whole 256-weight super-blocks. Their products use the same
    /// int8 activations as Q8_0 and Q4_0 (the weights themselves are used exactly as stored), so the same bound
    /// holds.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void KQuant_mixed_batches_match_reference(GgmlType type)
    {
        var config = SmallConfig() with { HiddenSize = 256, HeadCount = 4, KvHeadCount = 2, HeadDim = 64, RopeDimensions = 64, IntermediateSize = 512 };
        using var model = new InMemoryModel(config, type, seed: 13);
        var worst = RunScript(config, model.Weights);
        Assert.True(worst <= 5e-2, $"max relative logit error {worst:E3} exceeds 5e-2");
    }

    /// <summary>Head widths 64 and 128 with 16-slot blocks and contexts past one block: the attention paths that
    /// score eight positions at once and sum the values of four (width 64) or two (width 128) query heads per pass
    /// in registers, with groups that fill every pass and groups whose last pass repeats a head.</summary>
    [Theory]
    [InlineData(8, 1, 64)]
    [InlineData(12, 2, 64)]
    [InlineData(6, 2, 64)]
    [InlineData(4, 1, 128)]
    [InlineData(6, 2, 128)]
    public void Wide_heads_use_the_vectorised_attention_paths_correctly(int heads, int kvHeads, int headDim)
    {
        var config = SmallConfig() with { HiddenSize = heads * headDim, HeadCount = heads, KvHeadCount = kvHeads, HeadDim = headDim, LayerCount = 1, IntermediateSize = 128, RopeDimensions = headDim };
        using var model = new InMemoryModel(config, GgmlType.F32, seed: 5);
        Assert.True(RunScript(config, model.Weights, blockSize: 16) <= 1e-4);
    }

    /// <summary>An fp16 KV cache on fp32 weights: K and V are rounded to 11 significant bits (relative error up to
    /// 2^-11 ≈ 4.9e-4 per element) before attention reads them; scores and weighted sums average that rounding over
    /// the head width and the context, and it stays below 2e-3 of the largest logit, four times the per-element
    /// rounding. The head widths 64 and 128 run the register-tiled paths.</summary>
    [Theory]
    [InlineData(4, 2, 16)]
    [InlineData(8, 1, 64)]
    [InlineData(6, 2, 128)]
    public void An_fp16_cache_matches_reference_within_fp16_rounding(int heads, int kvHeads, int headDim)
    {
        var config = SmallConfig() with { HiddenSize = heads * headDim, HeadCount = heads, KvHeadCount = kvHeads, HeadDim = headDim, IntermediateSize = 128, RopeDimensions = headDim };
        using var model = new InMemoryModel(config, GgmlType.F32, seed: 9);
        var worst = RunScript(config, model.Weights, blockSize: 16, kvDataType: KvCacheDataType.F16);
        Assert.True(worst <= 2e-3, $"max relative logit error {worst:E3} exceeds 2e-3");
        Assert.True(worst > 1e-6, "an fp16 cache rounds K and V, so the logits cannot match the reference to float precision");
    }

    [Fact]
    public void Rope_frequency_factors_are_applied()
    {
        var factors = Enumerable.Range(0, 8).Select(j => 1f + j).ToArray();
        var config = SmallConfig() with { RopeFrequencyFactors = factors, RopeTheta = 500000f };
        using var model = new InMemoryModel(config, GgmlType.F32, seed: 3);
        Assert.True(RunScript(config, model.Weights) <= 1e-4);
    }

    [Fact]
    public void Single_thread_and_pool_agree_exactly()
    {
        var config = SmallConfig();
        using var model = new InMemoryModel(config, GgmlType.Q4_0, seed: 11);
        var one = Logits(config, model.Weights, threads: 1);
        var two = Logits(config, model.Weights, threads: 2);
        Assert.Equal(one, two);
    }

    internal static ModelConfig SmallConfig() => new()
    {
        Architecture = "llama",
        HiddenSize = 64,
        IntermediateSize = 96,
        LayerCount = 2,
        HeadCount = 4,
        KvHeadCount = 2,
        HeadDim = 16,
        VocabSize = 96,
        MaxPositions = 64,
        RopeDimensions = 16,
    };

    private static float[] Logits(ModelConfig config, ModelWeights weights, int threads)
    {
        using var runner = new CpuModelRunner(config, weights, new KvCacheConfig(8, 4), new CpuRunnerOptions { Threads = threads });
        var step = new StepInput(32, 4, 8, 4);
        step.AddSequence([1, 5, 9, 13, 17, 21], 0, [3, 0], 6);
        step.AddSequence([2, 4], 0, [5], 2);
        var logits = new float[step.LogitsRowCount * config.VocabSize];
        runner.Execute(step, logits);
        return logits;
    }

    /// <summary>Four sequences over three steps: prefill chunks, decode, and multi-token steps on top of cached
    /// context, with block tables that are neither contiguous nor ordered.</summary>
    internal static double RunScript(ModelConfig config, ModelWeights weights, int blockSize = 4, DenseBackend backend = DenseBackend.Native, int onnxMinTokens = int.MaxValue, KvCacheDataType kvDataType = KvCacheDataType.F32)
    {
        // Lengths grow with the block size so contexts always span several blocks.
        var k = blockSize / 4;
        var random = new Random(42);
        int[][] prompts = [.. new[] { 11, 6, 3, 9 }.Select(n => Enumerable.Range(0, n * k).Select(_ => random.Next(config.VocabSize)).ToArray())];
        int[][] blockTables = [[7, 2, 12], [0, 9], [4], [15, 1, 10]];
        (int Sequence, int Start, int Count)[][] steps =
        [
            [(0, 0, 5 * k), (1, 0, k), (2, 0, 3 * k)],
            [(0, 5 * k, 3 * k), (1, k, k), (3, 0, 9 * k)],
            [(1, 2 * k, 4 * k), (0, 8 * k, 3 * k)],
        ];

        var references = prompts.Select(_ => new ReferenceForward(config, weights)).ToArray();
        using var runner = new CpuModelRunner(config, weights, new KvCacheConfig(16, blockSize, kvDataType), new CpuRunnerOptions { MaxTokensPerStep = 32 * k, Threads = 2, Backend = backend, OnnxMinTokens = onnxMinTokens });
        var input = new StepInput(32 * k, 4, 4, blockSize);
        var worst = 0.0;
        foreach (var step in steps)
        {
            input.Clear();
            foreach (var (sequence, start, count) in step)
            {
                input.AddSequence(prompts[sequence].AsSpan(start, count), start, blockTables[sequence], count);
            }

            var logits = new float[input.LogitsRowCount * config.VocabSize];
            runner.Execute(input, logits);
            var row = 0;
            foreach (var (sequence, start, count) in step)
            {
                for (var i = 0; i < count; i++, row++)
                {
                    var expected = references[sequence].Next(prompts[sequence][start + i]);
                    var actual = logits.AsSpan(row * config.VocabSize, config.VocabSize);
                    worst = Math.Max(worst, RelativeError(actual, expected));
                }
            }
        }

        return worst;
    }

    private static double RelativeError(ReadOnlySpan<float> actual, double[] expected)
    {
        double maxDiff = 0, maxRef = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }

        return maxDiff / maxRef;
    }
}
