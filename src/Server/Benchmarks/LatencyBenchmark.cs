using System.Diagnostics;
using System.Runtime;
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

    /// <summary>How long the JIT must have compiled nothing new before the measurement starts: longer than tiered
    /// compilation's call-counting delay (100 ms), which restarts whenever new code is compiled.</summary>
    private static readonly TimeSpan JitQuietPeriod = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan MaxWarmUp = TimeSpan.FromSeconds(20);

    /// <summary>Warms the runner up once, then measures <paramref name="iterations"/> times (the prompt, then decode
    /// rounds from its end), each iteration against its own probes.</summary>
    public static IReadOnlyList<LatencyResult> Run(LoadedModel model, double loadSeconds, int promptTokens, int genTokens, int iterations, int threads, DenseBackend backend, KvCacheDataType kvDataType)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
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
        var spareLogits = new float[config.VocabSize];
        var random = new Random(1);
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => random.Next(config.VocabSize)).ToArray();

        // Warm-up until the code is in its steady state. Tiered compilation runs each method unoptimised (and, with
        // dynamic PGO, instrumented) first and recompiles the hot ones on a background thread after a delay that
        // restarts whenever new code is compiled, and the prompt, the probes and decode each bring new code. After a
        // warm-up of 64 decode steps alone, 22–24 methods were still recompiled during the first decode round
        // (it ran partly on unoptimised code); turning tiering off is no way out, since the code it ends with is
        // faster than code compiled optimised from the start (DOTNET_TieredCompilation=0: rounds of 89–95 tok/s
        // against 93–103). So everything measured runs once, then decode steps continue (at one position) until the
        // JIT has compiled nothing for a while (≈ 2 s here; ≈ 10 methods are compiled in the first round after it).
        using var bandwidth = new MemoryBandwidthProbe(ProbeBytes, threads);
        bandwidth.Measure(1);
        Int8ComputeProbe.Measure(threads: threads);
        Prefill(runner, step, prompt, blockTable, logits);
        var warmUp = Stopwatch.StartNew();
        var compiled = JitInfo.GetCompiledMethodCount();
        var quietSince = warmUp.Elapsed;
        for (var i = 0; i < WarmUpDecodeSteps || (warmUp.Elapsed - quietSince < JitQuietPeriod && warmUp.Elapsed < MaxWarmUp); i++)
        {
            Decode(runner, step, promptTokens, 1, blockTable, logits);
            var now = JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                compiled = now;
                quietSince = warmUp.Elapsed;
            }
        }

        var results = new LatencyResult[iterations];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
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

                // The first step after a probe is not a steady-state step: after the probe's pass over 512 MiB it took
                // 1.3–2× the median step in half of the rounds (TinyLlama Q4_0, 512 positions), 0.6–1.5 % of a
                // 32-token round on average. One untimed step absorbs it: the round's first token at its position,
                // into spare logits, so it writes the K/V the timed step then writes again and changes nothing else.
                Repeat(runner, step, position, blockTable, logits, spareLogits);
                watch.Restart();
                Decode(runner, step, position, count, blockTable, logits);
                var seconds = watch.Elapsed.TotalSeconds;
                var after = bandwidth.Measure(ProbeRepeats);
                position += count;
                decodeSeconds += seconds;
                speeds[r] = count / seconds;
                bandwidths[r] = (before + after) / 2;
            }

            results[iteration] = new LatencyResult
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

        return results;
    }

    private static IEnumerable<WeightTensor> MatrixTensors(ModelWeights weights) =>
        weights.Layers.SelectMany(layer => layer.Matrices).Append(weights.Output);

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

    private static void Repeat(CpuModelRunner runner, StepInput step, int position, int[] blockTable, float[] logits, float[] spareLogits)
    {
        Span<int> token = [Sampler.ArgMax(logits)];
        step.Clear();
        step.AddSequence(token, position, blockTable, 1);
        runner.Execute(step, spareLogits);
    }
}
