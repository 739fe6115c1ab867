using System.Diagnostics;
using Serving.Kernels.Diagnostics;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Server.Benchmarks;

/// <summary>Offline throughput: N requests of fixed prompt and output lengths through the continuous-batching
/// engine (no HTTP), all submitted at once, with at most C running together; the int8 compute ceiling is measured
/// in the same run.</summary>
internal static class ThroughputBenchmark
{
    public static ThroughputResult Run(LoadedModel model, int prompts, int inputLength, int outputLength, int concurrency, int maxBatchedTokens, int threads)
    {
        var config = new EngineConfig { MaxSequences = concurrency, MaxBatchedTokens = maxBatchedTokens, EnablePrefixCaching = false };
        var kv = KvCacheConfig.ForTokens(concurrency * (inputLength + outputLength + 16));
        using var runner = new CpuModelRunner(model, kv, new CpuRunnerOptions { MaxTokensPerStep = maxBatchedTokens, MaxSequences = concurrency, Threads = threads });
        using var engine = new LlmEngine(model, runner, config);
        var random = new Random(1);
        GenerationRequest Request() => new()
        {
            PromptTokens = Enumerable.Range(0, inputLength).Select(_ => random.Next(3, model.Config.VocabSize)).ToList(),
            MaxTokens = outputLength,
            IgnoreEos = true,
        };

        // Warm-up: every kernel and tile shape once, so the timed run measures optimised code.
        Drive(engine, [.. Enumerable.Range(0, Math.Min(concurrency, 4)).Select(_ => engine.Submit(Request() with { MaxTokens = 4 }))]);

        var int8Before = Int8ComputeProbe.Measure(threads: threads);
        var handles = Enumerable.Range(0, prompts).Select(_ => engine.Submit(Request())).ToArray();
        var watch = Stopwatch.StartNew();
        var steps = Drive(engine, handles);
        var seconds = watch.Elapsed.TotalSeconds;
        var int8After = Int8ComputeProbe.Measure(threads: threads);
        var parameters = model.Weights.Layers.Sum(l => l.Query.ElementCount + l.Key.ElementCount + l.Value.ElementCount + l.Output.ElementCount + l.Gate.ElementCount + l.Up.ElementCount + l.Down.ElementCount)
            + model.Weights.Output.ElementCount;
        return new ThroughputResult(prompts, inputLength, outputLength, concurrency, seconds, steps, parameters, (int8Before + int8After) / 2);
    }

    private static int Drive(LlmEngine engine, RequestHandle[] handles)
    {
        var steps = 0;
        while (handles.Any(h => !h.Completion.IsCompleted))
        {
            engine.Step();
            steps++;
            foreach (var handle in handles)
            {
                while (handle.Output.TryRead(out _))
                {
                }
            }
        }

        return steps;
    }
}

/// <summary>What <see cref="ThroughputBenchmark"/> measured.</summary>
internal sealed record ThroughputResult(int Prompts, int InputLength, int OutputLength, int Concurrency, double Seconds, int Steps, long MatrixParameters, double Int8OpsPerSecond)
{
    public double RequestsPerSecond => Prompts / Seconds;

    public double OutputTokensPerSecond => (double)Prompts * OutputLength / Seconds;

    public double TotalTokensPerSecond => (double)Prompts * (InputLength + OutputLength) / Seconds;

    /// <summary>Tokens per second if every token cost only its matrix products at the measured int8 rate.</summary>
    public double ComputeCeilingTokensPerSecond => Int8OpsPerSecond / (2.0 * MatrixParameters);
}
