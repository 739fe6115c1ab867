using System.Runtime.Intrinsics;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>256-bit tiles, for CPUs without AVX-512.</summary>
internal readonly unsafe struct Avx2FloatTiles : IFloatTiles
{
    public static int Width => 8;

    public static void Stored4x1<TLoader>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int end, float* sums)
        where TLoader : struct, IFloatRowLoader
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var i = 0; i < end; i += 8)
        {
            var u = Vector256.Load(x + i);
            a0 = Vector256.FusedMultiplyAdd(TLoader.Load8(w0, i), u, a0);
            a1 = Vector256.FusedMultiplyAdd(TLoader.Load8(w1, i), u, a1);
            a2 = Vector256.FusedMultiplyAdd(TLoader.Load8(w2, i), u, a2);
            a3 = Vector256.FusedMultiplyAdd(TLoader.Load8(w3, i), u, a3);
        }

        sums[0] = Vector256.Sum(a0);
        sums[1] = Vector256.Sum(a1);
        sums[2] = Vector256.Sum(a2);
        sums[3] = Vector256.Sum(a3);
    }

    public static float Stored1x1<TLoader>(byte* w, float* x, int end)
        where TLoader : struct, IFloatRowLoader
    {
        var acc = Vector256<float>.Zero;
        for (var i = 0; i < end; i += 8)
        {
            acc = Vector256.FusedMultiplyAdd(TLoader.Load8(w, i), Vector256.Load(x + i), acc);
        }

        return Vector256.Sum(acc);
    }

    public static void Panel4x4(float* w, float* x, int columns, int end, float* sums)
    {
        float* w1 = w + columns, w2 = w1 + columns, w3 = w2 + columns;
        float* x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (var i = 0; i < end; i += 8)
        {
            var v0 = Vector256.Load(w + i);
            var v1 = Vector256.Load(w1 + i);
            var v2 = Vector256.Load(w2 + i);
            var v3 = Vector256.Load(w3 + i);
            var u = Vector256.Load(x + i);
            a00 = Vector256.FusedMultiplyAdd(v0, u, a00);
            a01 = Vector256.FusedMultiplyAdd(v1, u, a01);
            a02 = Vector256.FusedMultiplyAdd(v2, u, a02);
            a03 = Vector256.FusedMultiplyAdd(v3, u, a03);
            u = Vector256.Load(x1 + i);
            a10 = Vector256.FusedMultiplyAdd(v0, u, a10);
            a11 = Vector256.FusedMultiplyAdd(v1, u, a11);
            a12 = Vector256.FusedMultiplyAdd(v2, u, a12);
            a13 = Vector256.FusedMultiplyAdd(v3, u, a13);
            u = Vector256.Load(x2 + i);
            a20 = Vector256.FusedMultiplyAdd(v0, u, a20);
            a21 = Vector256.FusedMultiplyAdd(v1, u, a21);
            a22 = Vector256.FusedMultiplyAdd(v2, u, a22);
            a23 = Vector256.FusedMultiplyAdd(v3, u, a23);
            u = Vector256.Load(x3 + i);
            a30 = Vector256.FusedMultiplyAdd(v0, u, a30);
            a31 = Vector256.FusedMultiplyAdd(v1, u, a31);
            a32 = Vector256.FusedMultiplyAdd(v2, u, a32);
            a33 = Vector256.FusedMultiplyAdd(v3, u, a33);
        }

        sums[0] = Vector256.Sum(a00);
        sums[1] = Vector256.Sum(a01);
        sums[2] = Vector256.Sum(a02);
        sums[3] = Vector256.Sum(a03);
        sums[4] = Vector256.Sum(a10);
        sums[5] = Vector256.Sum(a11);
        sums[6] = Vector256.Sum(a12);
        sums[7] = Vector256.Sum(a13);
        sums[8] = Vector256.Sum(a20);
        sums[9] = Vector256.Sum(a21);
        sums[10] = Vector256.Sum(a22);
        sums[11] = Vector256.Sum(a23);
        sums[12] = Vector256.Sum(a30);
        sums[13] = Vector256.Sum(a31);
        sums[14] = Vector256.Sum(a32);
        sums[15] = Vector256.Sum(a33);
    }
}
