using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Diagnostics;

/// <summary>Measures the int8 multiply-accumulate rate of all cores, the compute ceiling of batched decode and
/// prefill: int8 × int8 products summed into int32, with the 256-bit vpdpbusd the quantized kernels use (or its
/// AVX2 replacement) and, where the CPU has AVX-512BW, with 512-bit vpmaddubsw + vpmaddwd + vpaddd; the faster of
/// the two is the ceiling. One multiply-accumulate counts as two operations.</summary>
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
        var best = Best(pool, new DotJob(), DotJob.OperationsPerThread, threads, repeats);
        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported)
        {
            best = Math.Max(best, Best(pool, new WideDotJob(), WideDotJob.OperationsPerThread, threads, repeats));
        }

        return best;
    }

    private static double Best(WorkerPool pool, IParallelJob job, double operationsPerThread, int threads, int repeats)
    {
        pool.Run(job);
        var best = 0.0;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            pool.Run(job);
            best = Math.Max(best, operationsPerThread * threads / watch.Elapsed.TotalSeconds);
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

    /// <summary>The 512-bit form: the unsigned operands come from a small L1-resident buffer (as a matrix kernel's
    /// weights would), since products of loop-invariant registers would be hoisted out of the loop.</summary>
    private sealed unsafe class WideDotJob : IParallelJob
    {
        private const long Iterations = 2_000_000;

        private const int BufferBytes = 4096;

        // 8 chains × 64 byte products × 2 operations per iteration.
        public const double OperationsPerThread = Iterations * 8 * 64 * 2.0;

        public int Checksum { get; private set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int threadIndex)
        {
            using var buffer = new NativeBuffer<byte>(BufferBytes);
            for (var i = 0; i < BufferBytes; i++)
            {
                buffer.Pointer[i] = (byte)(((i * 7) + threadIndex) & 0x7F);
            }

            var s = Vector512.Create((sbyte)-2);
            var t = Vector512.Create((sbyte)3);
            var ones = Vector512<short>.One;
            Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<int> a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < Iterations; i++)
            {
                var p = buffer.Pointer + ((i * 256) & (BufferBytes - 1));
                var u = Vector512.Load(p);
                var v = Vector512.Load(p + 64);
                var w = Vector512.Load(p + 128);
                var z = Vector512.Load(p + 192);
                a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(v, s), ones);
                a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, s), ones);
                a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(z, s), ones);
                a4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, t), ones);
                a5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(v, t), ones);
                a6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, t), ones);
                a7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(z, t), ones);
            }

            Checksum = Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
    }
}
