using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Cpu;

namespace Serving.Kernels.Diagnostics;

/// <summary>Measures the read bandwidth that all cores together get from main memory, the ceiling of single-stream
/// decode (every weight byte is read once per token). On these machines it drifts by 2× from minute to minute, so
/// it is measured in the same run as the thing it is compared with; the buffer is allocated once and reused.</summary>
public sealed class MemoryBandwidthProbe : IDisposable
{
    private readonly NativeBuffer<float> _buffer;
    private readonly WorkerPool _pool;
    private readonly ReadJob _job;

    /// <summary>Prepares a buffer of <paramref name="bytes"/> (much larger than the caches) read by
    /// <paramref name="threads"/> threads (0: one per processor).</summary>
    public MemoryBandwidthProbe(long bytes = 512L << 20, int threads = 0)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        _buffer = new NativeBuffer<float>(bytes / sizeof(float), clear: false);

        // Distinct non-zero values: pages of zeros may all map to one shared physical page, which then reads from
        // cache and reports an impossible bandwidth.
        var values = _buffer.AsSpan(0, (int)Math.Min(_buffer.Length, int.MaxValue));
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i;
        }

        _pool = new WorkerPool(threads);
        _job = new ReadJob(_buffer, threads);
        _pool.Run(_job);
    }

    /// <summary>Best read rate in bytes per second over <paramref name="repeats"/> passes.</summary>
    public double Measure(int repeats = 3)
    {
        var best = 0.0;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            _pool.Run(_job);
            best = Math.Max(best, _job.Bytes / watch.Elapsed.TotalSeconds);
        }

        return best;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _pool.Dispose();
        _buffer.Dispose();
    }

    private sealed unsafe class ReadJob(NativeBuffer<float> buffer, int threads) : IParallelJob
    {
        /// <summary>1,536 bytes, the distance the one-token kernels use (1,024–2,048 read alike; 4,096 as little as
        /// no requests at all).</summary>
        private const int PrefetchFloats = 384;

        private readonly long _section = buffer.Length / threads / 4 & ~15L;

        public float Checksum { get; private set; }

        /// <summary>Bytes one pass reads (the buffer, less what does not divide into whole sections).</summary>
        public double Bytes => (double)threads * 4 * _section * sizeof(float);

        public void Execute(int threadIndex)
        {
            // Each thread reads its share as four sections in step, as the one-token kernels read weights: a core's
            // prefetchers run a bounded distance ahead of each stream, so one stream per core under-reads the
            // memory (by ≈ 10 % at 64–71 GB/s on this machine's fast phases; equal in slow ones). Like those
            // kernels, it also requests every line PrefetchFloats ahead of the loads: without that it read 12–22 %
            // less (median of 30 alternations; 5 % less at the best moments), and the kernels that do it
            // out-read the probe meant to bound them.
            var section = _section;
            var s0 = buffer.Pointer + (threadIndex * 4 * section);
            var s1 = s0 + section;
            var s2 = s1 + section;
            var s3 = s2 + section;
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (long i = 0; i < section; i += 16)
            {
                if (Sse.IsSupported)
                {
                    var ahead = i + PrefetchFloats;
                    Sse.Prefetch0(s0 + ahead);
                    Sse.Prefetch0(s1 + ahead);
                    Sse.Prefetch0(s2 + ahead);
                    Sse.Prefetch0(s3 + ahead);
                }

                a0 += Vector256.Load(s0 + i) + Vector256.Load(s0 + i + 8);
                a1 += Vector256.Load(s1 + i) + Vector256.Load(s1 + i + 8);
                a2 += Vector256.Load(s2 + i) + Vector256.Load(s2 + i + 8);
                a3 += Vector256.Load(s3 + i) + Vector256.Load(s3 + i + 8);
            }

            // Keeps the loads observable so the JIT cannot drop them.
            Checksum = Vector256.Sum(a0 + a1 + a2 + a3);
        }
    }
}
