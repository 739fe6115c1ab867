using System.Diagnostics;
using System.Runtime.Intrinsics;
using Serving.Kernels.Cpu;

namespace Serving.Kernels.Diagnostics;

/// <summary>Measures the read bandwidth that all cores together get from main memory, the ceiling of single-stream
/// decode (every weight byte is read once per token). On these machines it drifts by 2× from minute to minute, so
/// it is measured in the same run as the thing it is compared with.</summary>
public static class MemoryBandwidthProbe
{
    /// <summary>Best read rate in bytes per second over <paramref name="repeats"/> passes over a buffer of
    /// <paramref name="bytes"/> (much larger than the caches).</summary>
    public static double Measure(long bytes = 1L << 30, int repeats = 5, int threads = 0)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        using var buffer = new NativeBuffer<float>(bytes / sizeof(float));

        // Distinct non-zero values: pages of zeros may all map to one shared physical page, which then reads from
        // cache and reports an impossible bandwidth.
        var values = buffer.AsSpan(0, (int)Math.Min(buffer.Length, int.MaxValue));
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i;
        }

        using var pool = new WorkerPool(threads);
        var job = new ReadJob(buffer, threads);
        pool.Run(job);
        var best = 0.0;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            pool.Run(job);
            best = Math.Max(best, buffer.Length * sizeof(float) / watch.Elapsed.TotalSeconds);
        }

        return best;
    }

    private sealed unsafe class ReadJob(NativeBuffer<float> buffer, int threads) : IParallelJob
    {
        public float Checksum { get; private set; }

        public void Execute(int threadIndex)
        {
            var per = buffer.Length / threads & ~31L;
            var start = buffer.Pointer + (threadIndex * per);
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (long i = 0; i < per; i += 32)
            {
                a0 += Vector256.Load(start + i);
                a1 += Vector256.Load(start + i + 8);
                a2 += Vector256.Load(start + i + 16);
                a3 += Vector256.Load(start + i + 24);
            }

            // Keeps the loads observable so the JIT cannot drop them.
            Checksum = Vector256.Sum(a0 + a1 + a2 + a3);
        }
    }
}
