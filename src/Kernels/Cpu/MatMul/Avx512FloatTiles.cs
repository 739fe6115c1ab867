using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>512-bit tiles: half the instructions per weight, which is what limits single-token products over fp16
/// weights (their widening costs more than the multiply-add it feeds).</summary>
internal readonly unsafe struct Avx512FloatTiles : IFloatTiles
{
    /// <summary>How far ahead <see cref="Stored4x1"/> requests each of its four rows where the CPU gains from it
    /// (<see cref="StreamPrefetch"/>): on Zen 5, with only the hardware prefetchers, single-token fp16 decode kept too
    /// few bytes in flight (a whole decode step 8–29 % faster with 2,048 bytes, in-process alternation, see
    /// docs/benchmarks.md).</summary>
    private const int StreamPrefetchBytes = 2048;

    public static int Width => 16;

    public static void Stored4x1<TLoader>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int end, float* sums)
        where TLoader : struct, IFloatRowLoader
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var i = 0; i < end; i += 16)
        {
            // Each step reads 32 or 64 bytes of every row, so one request per row and step covers every line.
            if (StreamPrefetch.Enabled)
            {
                var ahead = (i * TLoader.ElementBytes) + StreamPrefetchBytes;
                Sse.Prefetch0(w0 + ahead);
                Sse.Prefetch0(w1 + ahead);
                Sse.Prefetch0(w2 + ahead);
                Sse.Prefetch0(w3 + ahead);
            }
            var u = Vector512.Load(x + i);
            a0 = Vector512.FusedMultiplyAdd(TLoader.Load16(w0, i), u, a0);
            a1 = Vector512.FusedMultiplyAdd(TLoader.Load16(w1, i), u, a1);
            a2 = Vector512.FusedMultiplyAdd(TLoader.Load16(w2, i), u, a2);
            a3 = Vector512.FusedMultiplyAdd(TLoader.Load16(w3, i), u, a3);
        }

        sums[0] = Vector512.Sum(a0);
        sums[1] = Vector512.Sum(a1);
        sums[2] = Vector512.Sum(a2);
        sums[3] = Vector512.Sum(a3);
    }

    public static float Stored1x1<TLoader>(byte* w, float* x, int end)
        where TLoader : struct, IFloatRowLoader
    {
        var acc = Vector512<float>.Zero;
        for (var i = 0; i < end; i += 16)
        {
            acc = Vector512.FusedMultiplyAdd(TLoader.Load16(w, i), Vector512.Load(x + i), acc);
        }

        return Vector512.Sum(acc);
    }

    public static void Panel4x4(float* w, float* x, int columns, int end, float* sums)
    {
        float* w1 = w + columns, w2 = w1 + columns, w3 = w2 + columns;
        float* x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (var i = 0; i < end; i += 16)
        {
            var v0 = Vector512.Load(w + i);
            var v1 = Vector512.Load(w1 + i);
            var v2 = Vector512.Load(w2 + i);
            var v3 = Vector512.Load(w3 + i);
            var u = Vector512.Load(x + i);
            a00 = Vector512.FusedMultiplyAdd(v0, u, a00);
            a01 = Vector512.FusedMultiplyAdd(v1, u, a01);
            a02 = Vector512.FusedMultiplyAdd(v2, u, a02);
            a03 = Vector512.FusedMultiplyAdd(v3, u, a03);
            u = Vector512.Load(x1 + i);
            a10 = Vector512.FusedMultiplyAdd(v0, u, a10);
            a11 = Vector512.FusedMultiplyAdd(v1, u, a11);
            a12 = Vector512.FusedMultiplyAdd(v2, u, a12);
            a13 = Vector512.FusedMultiplyAdd(v3, u, a13);
            u = Vector512.Load(x2 + i);
            a20 = Vector512.FusedMultiplyAdd(v0, u, a20);
            a21 = Vector512.FusedMultiplyAdd(v1, u, a21);
            a22 = Vector512.FusedMultiplyAdd(v2, u, a22);
            a23 = Vector512.FusedMultiplyAdd(v3, u, a23);
            u = Vector512.Load(x3 + i);
            a30 = Vector512.FusedMultiplyAdd(v0, u, a30);
            a31 = Vector512.FusedMultiplyAdd(v1, u, a31);
            a32 = Vector512.FusedMultiplyAdd(v2, u, a32);
            a33 = Vector512.FusedMultiplyAdd(v3, u, a33);
        }

        sums[0] = Vector512.Sum(a00);
        sums[1] = Vector512.Sum(a01);
        sums[2] = Vector512.Sum(a02);
        sums[3] = Vector512.Sum(a03);
        sums[4] = Vector512.Sum(a10);
        sums[5] = Vector512.Sum(a11);
        sums[6] = Vector512.Sum(a12);
        sums[7] = Vector512.Sum(a13);
        sums[8] = Vector512.Sum(a20);
        sums[9] = Vector512.Sum(a21);
        sums[10] = Vector512.Sum(a22);
        sums[11] = Vector512.Sum(a23);
        sums[12] = Vector512.Sum(a30);
        sums[13] = Vector512.Sum(a31);
        sums[14] = Vector512.Sum(a32);
        sums[15] = Vector512.Sum(a33);
    }
}
