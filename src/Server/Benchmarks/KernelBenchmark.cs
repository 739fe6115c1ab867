using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Diagnostics;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;

namespace Serving.Server.Benchmarks;

/// <summary>
/// The kernels alone, on random weights of the TinyLlama-1.1B layer shapes: the matrix products of a few layers for
/// T tokens per step, as the runner issues them (Q/K/V together, O, gate/up together, down; rows shared between
/// the threads by the runner's own job), and paged attention of one token over a long context. Each round is
/// compared with the read bandwidth and int8 rate measured right before it. For A/B comparisons of kernel changes
/// without the rest of a step.
/// </summary>
internal static unsafe class KernelBenchmark
{
    private static readonly (int Rows, int Columns)[] LayerShapes =
        [(2048, 2048), (256, 2048), (256, 2048), (2048, 2048), (5632, 2048), (5632, 2048), (2048, 5632)];

    /// <summary>How many of a layer's matrices each parallel region takes: Q/K/V, O, gate/up, down.</summary>
    private static readonly int[] Regions = [3, 1, 2, 1];

    /// <summary>Times the products of <paramref name="layers"/> TinyLlama-shaped layers for <paramref name="tokens"/>
    /// tokens; with <paramref name="narrowKernels"/>, Q4_0 and Q8_0 run their four-token tiles and one-token sections
    /// even where the CPU has the wide kernels (A/B comparisons of the two).</summary>
    public static IReadOnlyList<MatMulRound> MatMul(GgmlType type, int layers, int tokens, int rounds, int repeats, int threads, bool narrowKernels)
    {
        var buffers = new List<NativeBuffer<byte>>();
        var weights = new List<WeightTensor>();
        var kernels = new List<IMatMulKernel>();
        WeightArena? arena = null;
        try
        {
            long bytes = 0, products = 0, repacked = 0;
            for (var l = 0; l < layers; l++)
            {
                foreach (var (rows, columns) in LayerShapes)
                {
                    var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, (ulong)(100 + weights.Count));
                    var buffer = new NativeBuffer<byte>(tensor.ByteLength, clear: false);
                    buffers.Add(buffer);
                    SyntheticModel.Fill(tensor, buffer.AsSpan(0, (int)tensor.ByteLength));
                    var weight = new WeightTensor("w", type, [rows, columns], (nint)buffer.Pointer, tensor.ByteLength);
                    weights.Add(weight);
                    repacked += WeightArena.SpaceFor(MatMulKernels.RepackedBytes(weight));
                    bytes += tensor.ByteLength;
                    products += (long)rows * columns * tokens;
                }
            }

            // The repacked matrices share one arena in the order they run, as the model runner lays them out.
            arena = repacked > 0 ? new WeightArena(repacked) : null;
            foreach (var weight in weights)
            {
                kernels.Add(narrowKernels ? Narrow(weight, arena) : MatMulKernels.For(weight, arena));
            }

            return RunMatMul(kernels, tokens, rounds, repeats, threads, bytes, products);
        }
        finally
        {
            foreach (var kernel in kernels)
            {
                (kernel as IDisposable)?.Dispose();
            }

            arena?.Dispose();
            foreach (var buffer in buffers)
            {
                buffer.Dispose();
            }
        }
    }

    public static IReadOnlyList<double> Attention(int context, int headDim, int kvHeads, KvCacheDataType dataType, int rounds, int threads)
    {
        const int layers = 22, blockSize = 16, heads = 32;
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        var blocks = (context + blockSize - 1) / blockSize;
        using var cache = new KvCacheStorage(layers, 2 * blocks, blockSize, kvHeads, headDim, dataType);
        using var row = new NativeBuffer<float>((long)kvHeads * headDim);
        var random = new Random(3);
        for (var l = 0; l < layers; l++)
        {
            for (var slot = 0; slot < 2 * blocks * blockSize; slot++)
            {
                for (var i = 0; i < kvHeads * headDim; i++)
                {
                    row.Pointer[i] = (float)random.NextDouble() - 0.5f;
                }

                cache.Write(l, slot, row.Pointer, row.Pointer);
            }
        }

        // Blocks scattered over the pool, as a long-running server leaves them.
        var table = Enumerable.Range(0, blocks).Select(b => (b * 7) % (2 * blocks)).ToArray();
        var step = new StepInput(1, 1, blocks, blockSize);
        step.AddSequence([1], context - 1, table, 1);
        using var queries = new NativeBuffer<float>((long)heads * headDim);
        using var output = new NativeBuffer<float>((long)heads * headDim);
        for (var i = 0; i < heads * headDim; i++)
        {
            queries.Pointer[i] = (float)random.NextDouble();
        }

        using var pool = new WorkerPool(threads);
        using var attention = new AttentionJob(heads, kvHeads, headDim, context, blockSize, threads);
        void Pass()
        {
            for (var l = 0; l < layers; l++)
            {
                attention.Set(step, queries.Pointer, output.Pointer, cache, l);
                pool.Run(attention);
            }
        }

        WarmUp(Pass);
        var results = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var best = double.MaxValue;
            for (var repeat = 0; repeat < 20; repeat++)
            {
                var watch = Stopwatch.StartNew();
                Pass();
                best = Math.Min(best, watch.Elapsed.TotalSeconds);
            }

            results.Add(best);
        }

        return results;
    }

    /// <summary>The kernel <see cref="MatMulKernels.For"/> picks, without its wide kernels.</summary>
    private static IMatMulKernel Narrow(WeightTensor weight, WeightArena? arena) => weight.Type switch
    {
        GgmlType.Q4_0 when InterleavedLayout.Supports(weight.Type, weight.Rows) => new Q4_0x8MatMul(weight, wide: false, arena, AvxVnni.IsSupported),
        GgmlType.Q8_0 when InterleavedLayout.Supports(weight.Type, weight.Rows) => new Q8_0x8MatMul(weight, wide: false, arena, AvxVnni.IsSupported),
        GgmlType.Q4_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => new AffineKQuantx8MatMul<Q4_KLayout>(weight, wide: false, arena),
        GgmlType.Q5_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => new AffineKQuantx8MatMul<Q5_KLayout>(weight, wide: false, arena),
        GgmlType.Q6_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => new Q6_Kx8MatMul(weight, wide: false, arena),
        _ => MatMulKernels.For(weight, arena),
    };

    /// <summary>Runs <paramref name="pass"/> untimed for a second: tiered compilation replaces the code around the
    /// kernels only after many calls and a delay, and would otherwise slow the first rounds several-fold.</summary>
    private static void WarmUp(Action pass)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 3 || watch.Elapsed < TimeSpan.FromSeconds(1); i++)
        {
            pass();
        }
    }

    private static List<MatMulRound> RunMatMul(List<IMatMulKernel> kernels, int tokens, int rounds, int repeats, int threads, long bytes, long products)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        var widest = LayerShapes.Max(s => s.Columns);
        using var x = new NativeBuffer<float>((long)tokens * widest);
        for (var i = 0; i < tokens * widest; i++)
        {
            x.Pointer[i] = MathF.Sin(i);
        }

        using var quantized = new QuantizedActivations(tokens, widest);
        using var y = new NativeBuffer<float>(3L * tokens * LayerShapes.Max(s => s.Rows));
        using var pool = new WorkerPool(threads);
        using var bandwidth = new MemoryBandwidthProbe(threads: threads);
        var job = new MatMulJob(threads);
        void Pass()
        {
            for (var k = 0; k < kernels.Count;)
            {
                foreach (var count in Regions)
                {
                    var columns = LayerShapes[k % LayerShapes.Length].Columns;
                    var input = new MatMulInput(x.Pointer, kernels[k].UsesQuantizedInput ? quantized : null, tokens, columns);
                    if (kernels[k].UsesQuantizedInput)
                    {
                        quantized.Quantize(x.Pointer, tokens, columns);
                    }

                    job.Set(input);
                    for (var j = 0; j < count; j++)
                    {
                        job.Add(kernels[k + j], y.Pointer + ((long)j * tokens * kernels[k + j].Rows));
                    }

                    pool.Run(job);
                    k += count;
                }
            }
        }

        WarmUp(Pass);
        var results = new List<MatMulRound>();
        for (var round = 0; round < rounds; round++)
        {
            var readRate = bandwidth.Measure();
            var int8Rate = Int8ComputeProbe.Measure(threads: threads);
            double best = double.MaxValue, total = 0;
            for (var repeat = 0; repeat < repeats; repeat++)
            {
                var watch = Stopwatch.StartNew();
                Pass();
                var seconds = watch.Elapsed.TotalSeconds;
                best = Math.Min(best, seconds);
                total += seconds;
            }

            results.Add(new MatMulRound(bytes, products, total / repeats, best, readRate, int8Rate));
        }

        return results;
    }
}

/// <summary>One round of <see cref="KernelBenchmark.MatMul"/>: the products of all layers, timed several times.</summary>
internal sealed record MatMulRound(long WeightBytes, long MultiplyAdds, double MeanSeconds, double BestSeconds, double ReadBandwidth, double Int8OpsPerSecond)
{
    public double MeanWeightRate => WeightBytes / MeanSeconds;

    public double BestWeightRate => WeightBytes / BestSeconds;

    public double MeanOpsPerSecond => 2.0 * MultiplyAdds / MeanSeconds;
}
