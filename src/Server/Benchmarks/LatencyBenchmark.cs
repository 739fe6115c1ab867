using System.Diagnostics;
using Serving.Kernels.Diagnostics;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Kernels.Sampling;
using Serving.Kernels.Tensors;

namespace Serving.Server.Benchmarks;

/// <summary>Measures prompt processing and single-stream decode of one model, and the memory bandwidth and int8
/// compute rate of the machine in the same run, since both drift from minute to minute on shared machines.</summary>
internal static class LatencyBenchmark
{
    private const int MaxTokensPerStep = 512;
    private const int Rounds = 4;
    private const long ProbeBytes = 512L << 20;
    private const int ProbeRepeats = 3;
    private const int WarmUpDecodeSteps = 64;

    public static LatencyResult Run(LoadedModel model, double loadSeconds, int promptTokens, int genTokens, int threads, DenseBackend backend, KvCacheDataType kvDataType)
    {
        var config = model.Config;
        var context = promptTokens + genTokens + 1;
        if (context > config.MaxPositions)
        {
            throw new ArgumentException($"{promptTokens} prompt + {genTokens} generated tokens exceed the model's context of {config.MaxPositions}");
        }

        using var runner = new CpuModelRunner(
            model,
            KvCacheConfig.ForTokens(context, dataType: kvDataType),
            new CpuRunnerOptions { MaxTokensPerStep = Math.Min(MaxTokensPerStep, promptTokens), MaxSequences = 1, Threads = threads, Backend = backend });
        var blockTable = Enumerable.Range(0, runner.KvCache.BlockCount).ToArray();
        var step = new StepInput(Math.Min(MaxTokensPerStep, promptTokens), 1, blockTable.Length, runner.KvCache.BlockSize);
        var logits = new float[config.VocabSize];
        var random = new Random(1);
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => random.Next(config.VocabSize)).ToArray();

        // Warm-up: the first calls of each method run before the JIT has optimised it, and tiered compilation only
        // replaces the helpers around the kernels after dozens of calls and a short delay, so a few warm-up steps
        // left the first decode round a third slower than the rest. The warm-up decodes re-use one position.
        Prefill(runner, step, prompt.AsSpan(0, Math.Min(32, promptTokens)), blockTable, logits);
        for (var i = 0; i < WarmUpDecodeSteps; i++)
        {
            Decode(runner, step, Math.Min(32, promptTokens), 1, blockTable, logits);
        }

        using var bandwidth = new MemoryBandwidthProbe(ProbeBytes, threads);
        var int8Before = Int8ComputeProbe.Measure(threads: threads);
        var watch = Stopwatch.StartNew();
        Prefill(runner, step, prompt, blockTable, logits);
        var prefillSeconds = watch.Elapsed.TotalSeconds;
        var int8After = Int8ComputeProbe.Measure(threads: threads);

        // Decode in rounds, each between two bandwidth probes, so every round is compared with the bandwidth the
        // machine had at that moment.
        var rounds = Math.Min(Rounds, genTokens);
        var bandwidths = new double[rounds];
        var speeds = new double[rounds];
        var position = promptTokens;
        var decodeSeconds = 0.0;
        for (var r = 0; r < rounds; r++)
        {
            var count = (genTokens / rounds) + (r < genTokens % rounds ? 1 : 0);
            var before = bandwidth.Measure(ProbeRepeats);
            watch.Restart();
            Decode(runner, step, position, count, blockTable, logits);
            var seconds = watch.Elapsed.TotalSeconds;
            var after = bandwidth.Measure(ProbeRepeats);
            position += count;
            decodeSeconds += seconds;
            speeds[r] = count / seconds;
            bandwidths[r] = (before + after) / 2;
        }

        return new LatencyResult
        {
            Model = model.Source,
            LoadSeconds = loadSeconds,
            PromptTokens = promptTokens,
            GeneratedTokens = genTokens,
            PromptTokensPerSecond = promptTokens / prefillSeconds,
            DecodeTokensPerSecond = genTokens / decodeSeconds,
            WeightBytesPerToken = MatrixTensors(model.Weights).Sum(t => t.ByteLength),
            MatrixParameters = MatrixTensors(model.Weights).Sum(t => t.ElementCount),
            Bandwidths = bandwidths,
            RoundTokensPerSecond = speeds,
            Int8OpsPerSecond = (int8Before + int8After) / 2,
        };
    }

    private static IEnumerable<WeightTensor> MatrixTensors(ModelWeights weights)
    {
        foreach (var layer in weights.Layers)
        {
            yield return layer.Query;
            yield return layer.Key;
            yield return layer.Value;
            yield return layer.Output;
            yield return layer.Gate;
            yield return layer.Up;
            yield return layer.Down;
        }

        yield return weights.Output;
    }

    private static void Prefill(CpuModelRunner runner, StepInput step, ReadOnlySpan<int> prompt, int[] blockTable, float[] logits)
    {
        for (var start = 0; start < prompt.Length; start += step.MaxTokens)
        {
            var count = Math.Min(step.MaxTokens, prompt.Length - start);
            step.Clear();
            step.AddSequence(prompt.Slice(start, count), start, blockTable, start + count == prompt.Length ? 1 : 0);
            runner.Execute(step, logits);
        }
    }

    private static void Decode(CpuModelRunner runner, StepInput step, int position, int count, int[] blockTable, float[] logits)
    {
        Span<int> token = stackalloc int[1];
        for (var i = 0; i < count; i++)
        {
            token[0] = Sampler.ArgMax(logits);
            step.Clear();
            step.AddSequence(token, position + i, blockTable, 1);
            runner.Execute(step, logits);
        }
    }
}
