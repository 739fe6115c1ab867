using System.CommandLine;
using System.Diagnostics;
using Serving.Kernels.Cpu;
using Serving.Kernels.Runner;
using Serving.Server.Benchmarks;
using Serving.Server.Benchmarks.Serve;

namespace Serving.Server.Cli;

/// <summary><c>serving bench latency</c>: prompt and single-stream decode speed against the machine's ceilings.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model to measure; omitted: the built-in demo model" };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length", DefaultValueFactory = _ => 512 };
        var genTokens = new Option<int>("--gen-tokens") { Description = "Tokens to decode", DefaultValueFactory = _ => 128 };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (0: one per core)", DefaultValueFactory = _ => 0 };
        var backend = new Option<DenseBackend>("--backend") { Description = "Dense segments on our kernels (native), ONNX Runtime (onnx), or chosen per step (auto)", DefaultValueFactory = _ => DenseBackend.Native };
        var kvType = KvCacheDtypeOption.Create();
        var iterations = new Option<int>("--iterations") { Description = "Measurements in one process after one warm-up, each against its own probes; more than one adds their medians", DefaultValueFactory = _ => 1 };
        var latency = new Command("latency", "Prompt processing and single-stream decode speed, with bandwidth and int8 ceilings measured in the same run")
        {
            model, promptTokens, genTokens, threads, backend, kvType, iterations,
        };
        latency.SetAction(result =>
        {
            using var logging = CliLogging.Create(verbose: false);
            var logger = logging.CreateLogger("bench");
            try
            {
                if (result.GetValue(promptTokens) < 1 || result.GetValue(genTokens) < 1 || result.GetValue(iterations) < 1)
                {
                    throw new ArgumentException("--prompt-tokens, --gen-tokens and --iterations must be at least 1");
                }

                var watch = Stopwatch.StartNew();
                using var loaded = ModelSource.Open(result.GetValue(model), null, logger);
                var load = watch.Elapsed.TotalSeconds;
                var kv = KvCacheDataTypes.Resolve(result.GetValue(kvType), loaded.Weights);
                var runs = LatencyBenchmark.Run(loaded, load, result.GetValue(promptTokens), result.GetValue(genTokens), result.GetValue(iterations), result.GetValue(threads), result.GetValue(backend), kv);
                var first = runs[0];
                Console.WriteLine($"model: {first.Model}");
                Console.WriteLine($"backend: {result.GetValue(backend)}; KV cache: {kv}; stream prefetch: {(StreamPrefetch.Enabled ? "on" : "off")}");
                Console.WriteLine($"load: {first.LoadSeconds:F2} s");
                Console.WriteLine($"weights read per token: {first.WeightBytesPerToken / 1e6:F1} MB; matrix parameters: {first.MatrixParameters / 1e6:F1} M");
                for (var i = 0; i < runs.Count; i++)
                {
                    if (runs.Count > 1)
                    {
                        Console.WriteLine($"iteration {i + 1} of {runs.Count}:");
                    }

                    PrintLatency(runs[i]);
                }

                if (runs.Count > 1)
                {
                    PrintLatencySummary(runs);
                }

                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or Kernels.Formats.ModelFormatException)
            {
                logger.LogError("{Message}", e.Message);
                return 1;
            }
        });
        return new Command("bench", "Benchmarks") { latency, Throughput(), KernelsCommand(), BenchServeCommand.Create() };
    }

    private static void PrintLatency(LatencyResult r)
    {
        Console.WriteLine($"prompt: {r.PromptTokens} tokens at {r.PromptTokensPerSecond:F1} tok/s ({r.PromptComputeFraction:P0} of the int8 compute ceiling {r.PromptComputeCeilingTokensPerSecond:F1} tok/s)");
        Console.WriteLine($"decode: {r.GeneratedTokens} tokens at {r.DecodeTokensPerSecond:F1} tok/s ({r.DecodeRooflineFraction:P0} of the bandwidth roofline, median of {r.Bandwidths.Count} rounds)");
        Console.WriteLine($"decode rounds: {string.Join(", ", r.RoundTokensPerSecond.Select((t, i) => $"{t:F1} tok/s at {r.Bandwidths[i] / 1e9:F1} GB/s"))}");
        Console.WriteLine($"measured: read bandwidth {r.MedianBandwidth / 1e9:F1} GB/s (median), int8 {r.Int8OpsPerSecond / 1e9:F0} Gop/s");
    }

    /// <summary>Medians over iterations, with the range of each fraction: on shared machines single iterations drift
    /// with the machine's phase, so a figure is only as good as the spread beside it.</summary>
    private static void PrintLatencySummary(IReadOnlyList<LatencyResult> runs)
    {
        var decode = runs.Select(r => r.DecodeTokensPerSecond).ToArray();
        var decodeFraction = runs.Select(r => r.DecodeRooflineFraction).ToArray();
        var prompt = runs.Select(r => r.PromptTokensPerSecond).ToArray();
        var promptFraction = runs.Select(r => r.PromptComputeFraction).ToArray();
        Console.WriteLine($"median of {runs.Count} iterations: decode {SampleStatistics.Median(decode):F1} tok/s, {SampleStatistics.Median(decodeFraction):P0} of the bandwidth roofline (iterations {decodeFraction.Min():P0} to {decodeFraction.Max():P0}); prompt {SampleStatistics.Median(prompt):F1} tok/s, {SampleStatistics.Median(promptFraction):P0} of the int8 compute ceiling (iterations {promptFraction.Min():P0} to {promptFraction.Max():P0})");
    }

    private static Command KernelsCommand()
    {
        var dtype = new Option<string>("--dtype") { Description = "Weight type of the matrices: q4_0, q8_0, q4_k, q5_k, q6_k or f16", DefaultValueFactory = _ => "q4_0" };
        var tokens = new Option<int>("--tokens") { Description = "Tokens per matrix product (1: single-stream decode)", DefaultValueFactory = _ => 1 };
        var layers = new Option<int>("--layers") { Description = "TinyLlama-1.1B layers of random weights (22, the whole model, ≈ 580 MB at Q4_0: with fewer, the L3 cache keeps part of the weights between passes and one-token rates read 10–30 % high)", DefaultValueFactory = _ => 22 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds, each after its own bandwidth and int8 probes", DefaultValueFactory = _ => 6 };
        var repeats = new Option<int>("--repeats") { Description = "Timed passes over all layers per round", DefaultValueFactory = _ => 10 };
        var context = new Option<int>("--attention-context") { Description = "Context of the paged-attention measurement (0: skip it)", DefaultValueFactory = _ => 1024 };
        var headDim = new Option<int>("--head-dim") { Description = "Head width for attention", DefaultValueFactory = _ => 64 };
        var kvHeads = new Option<int>("--kv-heads") { Description = "KV heads for attention (32 query heads)", DefaultValueFactory = _ => 4 };
        var kvType = new Option<KvCacheDataType>("--kv-cache-dtype") { Description = "Element type of the K/V cache for attention (f32 or f16)", DefaultValueFactory = _ => KvCacheDataType.F16 };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (0: one per core)", DefaultValueFactory = _ => 0 };
        var narrowKernels = new Option<bool>("--narrow-kernels") { Description = "Q4_0, Q8_0, Q4_K, Q5_K, Q6_K: run the 256-bit four-token tiles and one-token sections even where the CPU has the wide kernels (A/B comparisons)" };
        var command = new Command("kernels", "The matrix and attention kernels alone on random TinyLlama-shaped weights, each round against the bandwidth and int8 rate measured before it")
        {
            dtype, tokens, layers, rounds, repeats, context, headDim, kvHeads, kvType, threads, narrowKernels,
        };
        command.SetAction(result =>
        {
            using var logging = CliLogging.Create(verbose: false);
            var logger = logging.CreateLogger("bench");
            try
            {
                var type = result.GetValue(dtype)?.ToUpperInvariant() switch
                {
                    "Q4_0" => Kernels.Tensors.GgmlType.Q4_0,
                    "Q8_0" => Kernels.Tensors.GgmlType.Q8_0,
                    "Q4_K" => Kernels.Tensors.GgmlType.Q4_K,
                    "Q5_K" => Kernels.Tensors.GgmlType.Q5_K,
                    "Q6_K" => Kernels.Tensors.GgmlType.Q6_K,
                    "F16" => Kernels.Tensors.GgmlType.F16,
                    _ => throw new ArgumentException($"--dtype must be q4_0, q8_0, q4_k, q5_k, q6_k or f16, not '{result.GetValue(dtype)}'"),
                };
                if (result.GetValue(tokens) < 1 || result.GetValue(layers) < 1 || result.GetValue(rounds) < 1 || result.GetValue(repeats) < 1 || result.GetValue(context) < 0)
                {
                    throw new ArgumentException("--tokens, --layers, --rounds and --repeats must be at least 1, --attention-context at least 0");
                }

                if (result.GetValue(context) > 0 && (result.GetValue(headDim) is < 8 or > 256 || result.GetValue(headDim) % 8 != 0 || result.GetValue(kvHeads) is < 1 or > 32 || 32 % result.GetValue(kvHeads) != 0))
                {
                    throw new ArgumentException("--head-dim must be a multiple of 8 from 8 to 256 and --kv-heads a divisor of 32");
                }

                foreach (var r in KernelBenchmark.MatMul(type, result.GetValue(layers), result.GetValue(tokens), result.GetValue(rounds), result.GetValue(repeats), result.GetValue(threads), result.GetValue(narrowKernels)))
                {
                    // fp16 weights are multiplied in fp32, so the int8 rate is no ceiling for them.
                    var compute = type == Kernels.Tensors.GgmlType.F16
                        ? $"{r.MeanOpsPerSecond / 1e9:F0} Gop/s mean (fp32)"
                        : $"{r.MeanOpsPerSecond / 1e9:F0} Gop/s mean (int8 rate {r.Int8OpsPerSecond / 1e9:F0} Gop/s: {r.MeanOpsPerSecond / r.Int8OpsPerSecond:P0})";
                    Console.WriteLine($"matmul {result.GetValue(dtype)} tokens={result.GetValue(tokens)}: weights at {r.MeanWeightRate / 1e9:F1} GB/s mean, {r.BestWeightRate / 1e9:F1} best (read bandwidth {r.ReadBandwidth / 1e9:F1} GB/s: {r.MeanWeightRate / r.ReadBandwidth:P0} mean); {compute}");
                }

                if (result.GetValue(context) > 0)
                {
                    var bytes = 2.0 * 22 * result.GetValue(context) * result.GetValue(kvHeads) * result.GetValue(headDim) * KvCacheConfig.ElementBytes(result.GetValue(kvType));
                    foreach (var seconds in KernelBenchmark.Attention(result.GetValue(context), result.GetValue(headDim), result.GetValue(kvHeads), result.GetValue(kvType), result.GetValue(rounds), result.GetValue(threads)))
                    {
                        Console.WriteLine($"attention {result.GetValue(kvType)} context={result.GetValue(context)} head-dim={result.GetValue(headDim)} kv-heads={result.GetValue(kvHeads)}: {seconds * 1e3:F3} ms per token over 22 layers ({bytes / seconds / 1e9:F1} GB/s of K/V), best of 20");
                    }
                }

                return 0;
            }
            catch (ArgumentException e)
            {
                logger.LogError("{Message}", e.Message);
                return 1;
            }
        });
        return command;
    }

    private static Command Throughput()
    {
        var model = new Option<string?>("--model") { Description = "Model to measure; omitted: the built-in demo model" };
        var prompts = new Option<int>("--num-prompts") { Description = "Requests to run", DefaultValueFactory = _ => 64 };
        var input = new Option<int>("--input-len") { Description = "Prompt tokens per request", DefaultValueFactory = _ => 32 };
        var output = new Option<int>("--output-len") { Description = "Generated tokens per request", DefaultValueFactory = _ => 128 };
        var concurrency = new Option<int>("--max-num-seqs") { Description = "Most requests running together", DefaultValueFactory = _ => 32 };
        var batched = new Option<int>("--max-num-batched-tokens") { Description = "Token budget of one step", DefaultValueFactory = _ => 512 };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (0: one per core)", DefaultValueFactory = _ => 0 };
        var kvType = KvCacheDtypeOption.Create();
        var command = new Command("throughput", "Offline throughput of the continuous-batching engine (no HTTP), with the int8 compute ceiling measured in the same run")
        {
            model, prompts, input, output, concurrency, batched, threads, kvType,
        };
        command.SetAction(result =>
        {
            using var logging = CliLogging.Create(verbose: false);
            var logger = logging.CreateLogger("bench");
            try
            {
                if (result.GetValue(prompts) < 1 || result.GetValue(input) < 1 || result.GetValue(output) < 1 || result.GetValue(concurrency) < 1 || result.GetValue(batched) < result.GetValue(concurrency))
                {
                    throw new ArgumentException("--num-prompts, --input-len, --output-len and --max-num-seqs must be at least 1, and --max-num-batched-tokens at least --max-num-seqs");
                }

                using var loaded = ModelSource.Open(result.GetValue(model), null, logger);
                var kv = KvCacheDataTypes.Resolve(result.GetValue(kvType), loaded.Weights);
                var r = ThroughputBenchmark.Run(loaded, result.GetValue(prompts), result.GetValue(input), result.GetValue(output), result.GetValue(concurrency), result.GetValue(batched), result.GetValue(threads), kv);
                Console.WriteLine($"model: {loaded.Source}; KV cache: {kv}");
                Console.WriteLine($"requests: {r.Prompts} × ({r.InputLength} in + {r.OutputLength} out), at most {r.Concurrency} running; {r.Steps} steps in {r.Seconds:F2} s");
                Console.WriteLine($"throughput: {r.RequestsPerSecond:F2} req/s, {r.OutputTokensPerSecond:F1} output tok/s, {r.TotalTokensPerSecond:F1} total tok/s");
                Console.WriteLine($"compute ceiling: {r.ComputeCeilingTokensPerSecond:F1} tok/s (int8 {r.Int8OpsPerSecond / 1e9:F0} Gop/s, median of the probes during the run, range {r.Int8Lowest / 1e9:F0}–{r.Int8Highest / 1e9:F0}; {r.MatrixParameters / 1e6:F1} M matrix parameters); output at {r.OutputTokensPerSecond / r.ComputeCeilingTokensPerSecond:P0}, all tokens at {r.TotalTokensPerSecond / r.ComputeCeilingTokensPerSecond:P0}");
                Console.WriteLine($"burst int8 rate before/after the run: {r.Int8Burst / 1e9:F0} Gop/s (ceiling {r.Int8Burst / (2.0 * r.MatrixParameters):F1} tok/s); output at {r.OutputTokensPerSecond * 2.0 * r.MatrixParameters / r.Int8Burst:P0} of it");
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or Kernels.Formats.ModelFormatException)
            {
                logger.LogError("{Message}", e.Message);
                return 1;
            }
        });
        return command;
    }
}
