using System.Diagnostics;
using Serving.Kernels.Diagnostics;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;
using Serving.Server.Benchmarks.Serve;

namespace Serving.Server.Benchmarks;

/// <summary>Offline throughput: N requests of fixed prompt and output lengths through the continuous-batching
/// engine (no HTTP), all submitted at once, with at most C running together; the int8 compute ceiling is measured
/// in the same run.</summary>
internal static class ThroughputBenchmark
{
    public static ThroughputResult Run(LoadedModel model, int prompts, int inputLength, int outputLength, int concurrency, int maxBatchedTokens, int threads, KvCacheDataType kvDataType)
    {
        var config = new EngineConfig { MaxSequences = concurrency, MaxBatchedTokens = maxBatchedTokens, EnablePrefixCaching = false };
        var kv = KvCacheConfig.ForTokens(concurrency * (inputLength + outputLength + 16), dataType: kvDataType);
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
        _ = Drive(engine, [.. Enumerable.Range(0, Math.Min(concurrency, 4)).Select(_ => engine.Submit(Request() with { MaxTokens = 4 }))]);

        var bursts = new List<double> { Int8ComputeProbe.Measure(threads: threads) };
        var handles = Enumerable.Range(0, prompts).Select(_ => engine.Submit(Request())).ToArray();
        var probes = new List<double>();
        var (steps, seconds) = Drive(engine, handles, () => probes.Add(Int8ComputeProbe.Measure(repeats: 3, threads: threads)));
        bursts.Add(Int8ComputeProbe.Measure(threads: threads));
        var parameters = model.Weights.Layers.SelectMany(l => l.Matrices).Sum(m => m.ElementCount) + model.Weights.Output.ElementCount;
        probes.Sort();
        return new ThroughputResult(prompts, inputLength, outputLength, concurrency, seconds, steps, parameters, SampleStatistics.Percentile(probes, 50), probes[0], probes[^1], bursts.Max());
    }

    /// <summary>Steps the engine until every request is done; returns the steps and the seconds they took. Every
    /// <see cref="ProbeInterval"/> of stepping the int8 probe runs (outside the timed steps): the machine's compute
    /// rate drifts during a long run, so the ceiling is sampled under the same conditions as the steps.</summary>
    private static (int Steps, double Seconds) Drive(LlmEngine engine, RequestHandle[] handles, Action? probe = null)
    {
        var steps = 0;
        var stepping = new Stopwatch();
        var sinceProbe = TimeSpan.Zero;
        probe?.Invoke();
        while (handles.Any(h => !h.Completion.IsCompleted))
        {
            stepping.Start();
            engine.Step();
            steps++;
            foreach (var handle in handles)
            {
                while (handle.Output.TryRead(out _))
                {
                }
            }

            stepping.Stop();
            if (probe is not null && stepping.Elapsed - sinceProbe >= ProbeInterval)
            {
                sinceProbe = stepping.Elapsed;
                probe();
            }
        }

        return (steps, stepping.Elapsed.TotalSeconds);
    }

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(2);
}

/// <summary>What <see cref="ThroughputBenchmark"/> measured.</summary>
/// <param name="Prompts">Requests run.</param>
/// <param name="InputLength">Prompt tokens per request.</param>
/// <param name="OutputLength">Generated tokens per request.</param>
/// <param name="Concurrency">Most requests running together.</param>
/// <param name="Seconds">Time spent in engine steps (probes excluded).</param>
/// <param name="Steps">Engine steps taken.</param>
/// <param name="MatrixParameters">Weights of all matrix products per token.</param>
/// <param name="Int8OpsPerSecond">Median int8 rate of the probes taken during the run: the ceiling.</param>
/// <param name="Int8Lowest">Lowest probe during the run.</param>
/// <param name="Int8Highest">Highest probe during the run.</param>
/// <param name="Int8Burst">Best of the short probes right before and after the run (the machine's peak).</param>
internal sealed record ThroughputResult(int Prompts, int InputLength, int OutputLength, int Concurrency, double Seconds, int Steps, long MatrixParameters, double Int8OpsPerSecond, double Int8Lowest, double Int8Highest, double Int8Burst)
{
    public double RequestsPerSecond => Prompts / Seconds;

    public double OutputTokensPerSecond => (double)Prompts * OutputLength / Seconds;

    public double TotalTokensPerSecond => (double)Prompts * (InputLength + OutputLength) / Seconds;

    /// <summary>Tokens per second if every token cost only its matrix products at the measured int8 rate.</summary>
    public double ComputeCeilingTokensPerSecond => Int8OpsPerSecond / (2.0 * MatrixParameters);
}
