using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Diagnostics;

/// <summary>Measures the int8 multiply-accumulate rate of all cores, the compute ceiling of batched decode and
/// prefill: unsigned × signed byte products summed with the 256-bit vpdpbusd the quantized kernels use (or its AVX2
/// replacement, vpmaddubsw + vpmaddwd + vpaddd into int32), and with vpmaddubsw into 16-bit sums on 256-bit and,
/// where the CPU has AVX-512BW, 512-bit vectors (the 4-bit kernels' form without AVX-VNNI); the fastest is the
/// ceiling. One multiply-accumulate counts as two operations. Every operand that changes the products is loaded
/// inside the loop, so the JIT cannot hoist a multiply out of it.</summary>
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
        best = Math.Max(best, Best(pool, new PairSumJob(wide: false), PairSumJob.OperationsPerThread, threads, repeats));
        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported)
        {
            best = Math.Max(best, Best(pool, new PairSumJob(wide: true), PairSumJob.OperationsPerThread, threads, repeats));
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

    /// <summary>The kernels' 256-bit product (<see cref="IntegerDot.Accumulate"/>). Its unsigned operands come from a
    /// small L1-resident buffer: with loop-invariant registers, CPUs without AVX-VNNI (where the product is
    /// vpmaddubsw + vpmaddwd, then an add) had both multiplies hoisted out of the loop, and the probe timed the adds
    /// alone (on Zen 4, 1,850 Gop/s instead of 470).</summary>
    private sealed unsafe class DotJob : IParallelJob
    {
        private const long Iterations = 4_000_000;

        private const int BufferBytes = 4096;

        // 8 chains × 32 byte products × 2 operations per iteration.
        public const double OperationsPerThread = Iterations * 8 * 32 * 2.0;

        public int Checksum { get; private set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int threadIndex)
        {
            using var buffer = new NativeBuffer<byte>(BufferBytes);
            for (var i = 0; i < BufferBytes; i++)
            {
                buffer.Pointer[i] = (byte)(((i * 7) + threadIndex) & 0x7F);
            }

            var s = Vector256.Create((sbyte)-2);
            var t = Vector256.Create((sbyte)3);
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<int> a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < Iterations; i++)
            {
                var p = buffer.Pointer + ((i * 128) & (BufferBytes - 1));
                var u = Vector256.Load(p);
                var v = Vector256.Load(p + 32);
                var w = Vector256.Load(p + 64);
                var z = Vector256.Load(p + 96);
                a0 = IntegerDot.Accumulate(a0, u, s);
                a1 = IntegerDot.Accumulate(a1, v, s);
                a2 = IntegerDot.Accumulate(a2, w, s);
                a3 = IntegerDot.Accumulate(a3, z, s);
                a4 = IntegerDot.Accumulate(a4, u, t);
                a5 = IntegerDot.Accumulate(a5, v, t);
                a6 = IntegerDot.Accumulate(a6, w, t);
                a7 = IntegerDot.Accumulate(a7, z, t);
            }

            Checksum = Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
    }

    /// <summary>vpmaddubsw into 16-bit sums, the form the 4-bit kernels use where the CPU has no AVX-VNNI (their
    /// pairs of nibble products cannot overflow 16 bits, so they widen once per block, not per product): on 256-bit
    /// vectors, or on 512-bit ones (<paramref name="wide"/>, AVX-512BW). The sums wrap, which costs nothing and
    /// matters to no one. Unsigned operands come from a small L1-resident buffer, as a kernel's weights would.</summary>
    private sealed unsafe class PairSumJob(bool wide) : IParallelJob
    {
        private const long Iterations = 4_000_000;

        private const int BufferBytes = 4096;

        /// <summary>8 chains × 32 byte products × 2 operations per iteration (256-bit; twice that on 512-bit
        /// vectors, which run half the iterations).</summary>
        public const double OperationsPerThread = Iterations * 8 * 32 * 2.0;

        public int Checksum { get; private set; }

        public void Execute(int threadIndex)
        {
            using var buffer = new NativeBuffer<byte>(BufferBytes);
            for (var i = 0; i < BufferBytes; i++)
            {
                buffer.Pointer[i] = (byte)(((i * 7) + threadIndex) & 0x7F);
            }

            Checksum = wide ? Wide(buffer.Pointer) : Narrow(buffer.Pointer);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static int Narrow(byte* buffer)
        {
            var s = Vector256.Create((sbyte)-2);
            var t = Vector256.Create((sbyte)3);
            Vector256<short> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<short> a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < Iterations; i++)
            {
                var p = buffer + ((i * 128) & (BufferBytes - 1));
                var u = Vector256.Load(p);
                var v = Vector256.Load(p + 32);
                var w = Vector256.Load(p + 64);
                var z = Vector256.Load(p + 96);
                a0 += Avx2.MultiplyAddAdjacent(u, s);
                a1 += Avx2.MultiplyAddAdjacent(v, s);
                a2 += Avx2.MultiplyAddAdjacent(w, s);
                a3 += Avx2.MultiplyAddAdjacent(z, s);
                a4 += Avx2.MultiplyAddAdjacent(u, t);
                a5 += Avx2.MultiplyAddAdjacent(v, t);
                a6 += Avx2.MultiplyAddAdjacent(w, t);
                a7 += Avx2.MultiplyAddAdjacent(z, t);
            }

            return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static int Wide(byte* buffer)
        {
            var s = Vector512.Create((sbyte)-2);
            var t = Vector512.Create((sbyte)3);
            Vector512<short> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<short> a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < Iterations / 2; i++)
            {
                var p = buffer + ((i * 256) & (BufferBytes - 1));
                var u = Vector512.Load(p);
                var v = Vector512.Load(p + 64);
                var w = Vector512.Load(p + 128);
                var z = Vector512.Load(p + 192);
                a0 += Avx512BW.MultiplyAddAdjacent(u, s);
                a1 += Avx512BW.MultiplyAddAdjacent(v, s);
                a2 += Avx512BW.MultiplyAddAdjacent(w, s);
                a3 += Avx512BW.MultiplyAddAdjacent(z, s);
                a4 += Avx512BW.MultiplyAddAdjacent(u, t);
                a5 += Avx512BW.MultiplyAddAdjacent(v, t);
                a6 += Avx512BW.MultiplyAddAdjacent(w, t);
                a7 += Avx512BW.MultiplyAddAdjacent(z, t);
            }

            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
    }
}
