using System.Diagnostics;
using System.Runtime.Intrinsics;
using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Diagnostics;

/// <summary>Measures the int8 multiply-accumulate rate of all cores with the instruction the quantized kernels use
/// (vpdpbusd, or its AVX2 replacement), on registers only: the compute ceiling of batched decode and prefill. One
/// multiply-accumulate counts as two operations.</summary>
public static class Int8ComputeProbe
{
    /// <summary>Best rate in int8 operations per second.</summary>
    public static double Measure(int repeats = 5, int threads = 0)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        if (!IntegerDot.IsSupported)
        {
            return 0;
        }

        using var pool = new WorkerPool(threads);
        var job = new DotJob();
        pool.Run(job);
        var best = 0.0;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            pool.Run(job);
            best = Math.Max(best, DotJob.OperationsPerThread * threads / watch.Elapsed.TotalSeconds);
        }

        return best;
    }

    private sealed class DotJob : IParallelJob
    {
        private const long Iterations = 4_000_000;

        // 8 chains × 32 byte products × 2 operations per iteration.
        public const double OperationsPerThread = Iterations * 8 * 32 * 2.0;

        public int Checksum { get; private set; }

        public void Execute(int threadIndex)
        {
            var u = Vector256.Create((byte)(3 + threadIndex));
            var s = Vector256.Create((sbyte)-2);
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<int> a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < Iterations; i++)
            {
                a0 = IntegerDot.Accumulate(a0, u, s);
                a1 = IntegerDot.Accumulate(a1, u, s);
                a2 = IntegerDot.Accumulate(a2, u, s);
                a3 = IntegerDot.Accumulate(a3, u, s);
                a4 = IntegerDot.Accumulate(a4, u, s);
                a5 = IntegerDot.Accumulate(a5, u, s);
                a6 = IntegerDot.Accumulate(a6, u, s);
                a7 = IntegerDot.Accumulate(a7, u, s);
            }

            Checksum = Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
    }
}
