using CsCheck;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Runner;

/// <summary>
/// A sequence's logits must not depend on what else shares its steps: each of several sequences run alone (prompt in
/// one step, then one token per step) against all of them together, with prompts split into random chunks and
/// interleaved with other sequences' decode tokens. Compared bit for bit.
/// </summary>
public sealed class BatchInvarianceTests
{
    [Theory]
    [InlineData(GgmlType.F32, KvCacheDataType.F32)]
    [InlineData(GgmlType.F16, KvCacheDataType.F32)]
    [InlineData(GgmlType.BF16, KvCacheDataType.F32)]
    [InlineData(GgmlType.Q8_0, KvCacheDataType.F32)]
    [InlineData(GgmlType.Q4_0, KvCacheDataType.F32)]
    [InlineData(GgmlType.Q4_0, KvCacheDataType.F16)]
    [InlineData(GgmlType.F32, KvCacheDataType.F16)]
    [InlineData(GgmlType.Q4_K, KvCacheDataType.F16)]
    [InlineData(GgmlType.Q5_K, KvCacheDataType.F16)]
    [InlineData(GgmlType.Q6_K, KvCacheDataType.F16)]
    public void Logits_do_not_depend_on_the_batch(GgmlType type, KvCacheDataType kvDataType)
    {
        // k-quant rows are whole 256-weight super-blocks.
        var config = type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K
            ? RunnerAgreementTests.SmallConfig() with { HiddenSize = 256, HeadCount = 4, KvHeadCount = 2, HeadDim = 64, RopeDimensions = 64, IntermediateSize = 256 }
            : RunnerAgreementTests.SmallConfig() with { HiddenSize = 96, HeadCount = 6, KvHeadCount = 2, IntermediateSize = 160 };
        using var model = new InMemoryModel(config, type, seed: 21);
        Gen.Int[1, 1000].Sample(
            seed =>
            {
                var random = new Random(seed);
                var sequences = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, random.Next(2, 14)).Select(_ => random.Next(config.VocabSize)).ToArray()).ToArray();
                var alone = sequences.Select(s => Alone(config, model, s, kvDataType)).ToArray();
                var together = Together(config, model, sequences, random, kvDataType);
                for (var s = 0; s < sequences.Length; s++)
                {
                    Assert.Equal(alone[s], together[s]);
                }
            },
            iter: 12);
    }

    private static float[][] Alone(Models.ModelConfig config, InMemoryModel model, int[] tokens, KvCacheDataType kvDataType)
    {
        using var runner = new CpuModelRunner(config, model.Weights, new KvCacheConfig(4, 4, kvDataType), new CpuRunnerOptions { MaxTokensPerStep = 16, Threads = 2 });
        var step = new StepInput(16, 1, 4, 4);
        var rows = new float[tokens.Length][];
        step.AddSequence(tokens, 0, [0, 1, 2, 3], tokens.Length);
        var logits = new float[tokens.Length * config.VocabSize];
        runner.Execute(step, logits);
        for (var t = 0; t < tokens.Length; t++)
        {
            rows[t] = logits.AsSpan(t * config.VocabSize, config.VocabSize).ToArray();
        }

        return rows;
    }

    /// <summary>All sequences at once: each step takes a random-sized chunk of every unfinished sequence.</summary>
    private static float[][][] Together(Models.ModelConfig config, InMemoryModel model, int[][] sequences, Random random, KvCacheDataType kvDataType)
    {
        using var runner = new CpuModelRunner(config, model.Weights, new KvCacheConfig(12, 4, kvDataType), new CpuRunnerOptions { MaxTokensPerStep = 48, Threads = 2 });
        var step = new StepInput(48, 3, 4, 4);
        int[][] tables = [[9, 2, 5, 11], [0, 7, 3, 10], [4, 8, 1, 6]];
        var done = new int[sequences.Length];
        var results = sequences.Select(s => new float[s.Length][]).ToArray();
        var logits = new float[48 * config.VocabSize];
        while (done.Where((d, s) => d < sequences[s].Length).Any())
        {
            step.Clear();
            var chunks = new List<(int Sequence, int Start, int Count)>();
            for (var s = 0; s < sequences.Length; s++)
            {
                if (done[s] < sequences[s].Length)
                {
                    var count = random.Next(1, sequences[s].Length - done[s] + 1);
                    step.AddSequence(sequences[s].AsSpan(done[s], count), done[s], tables[s], count);
                    chunks.Add((s, done[s], count));
                    done[s] += count;
                }
            }

            runner.Execute(step, logits);
            var row = 0;
            foreach (var (sequence, start, count) in chunks)
            {
                for (var i = 0; i < count; i++, row++)
                {
                    results[sequence][start + i] = logits.AsSpan(row * config.VocabSize, config.VocabSize).ToArray();
                }
            }
        }

        return results;
    }
}
