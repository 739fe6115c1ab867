using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Cpu;

// AttentionJob, part: the weighted sums over cached values, with register tiles for head widths 64 and 128.
internal sealed unsafe partial class AttentionJob
{
    /// <summary>output = Σ weights[p] · V[p] for four heads of a group at the common head width 64: each value row
    /// is loaded once for the four, and the sixteen sums stay in registers. Per head the operations are the same
    /// fused multiply-adds in the same order whichever heads share the pass. The first pass over a sequence
    /// requests the block <c>_prefetchBlocks</c> ahead while it works on the current one; later passes find the
    /// values in cache. The weights are unnormalised (e^(s − max)); the caller divides the output by their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightedSum64x4<TLoad>(
        float* w0, float* w1, float* w2, float* w3, float* o0, float* o1, float* o2, float* o3,
        int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, bool prefetch)
        where TLoad : IFloatRowLoader
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        // One multiply per block from the head's start: the full address computation of KvCacheStorage.HeadBlock here
        // measured 7 % slower at head width 128.
        var rowBytes = 64 * _cache!.ElementBytes;
        long blockBytes = blockSize * rowBytes;
        var head = _cache.HeadStart(_values, kvHead);
        for (var start = 0; start < context; start += blockSize)
        {
            var b = start / blockSize;
            var values = head + (blockTable[b] * blockBytes);
            var next = prefetch && start + (_prefetchBlocks * blockSize) < context ? head + (blockTable[b + _prefetchBlocks] * blockBytes) : null;
            var count = Math.Min(blockSize, context - start);
            for (var j = 0; j < count; j++)
            {
                if (next != null)
                {
                    CachePrefetch.Lines(next + (j * rowBytes), rowBytes);
                }

                var v = values + (j * rowBytes);
                var v0 = TLoad.Load16(v, 0);
                var v1 = TLoad.Load16(v, 16);
                var v2 = TLoad.Load16(v, 32);
                var v3 = TLoad.Load16(v, 48);
                var p = start + j;
                var w = Vector512.Create(w0[p]);
                a00 = Vector512.FusedMultiplyAdd(v0, w, a00);
                a01 = Vector512.FusedMultiplyAdd(v1, w, a01);
                a02 = Vector512.FusedMultiplyAdd(v2, w, a02);
                a03 = Vector512.FusedMultiplyAdd(v3, w, a03);
                w = Vector512.Create(w1[p]);
                a10 = Vector512.FusedMultiplyAdd(v0, w, a10);
                a11 = Vector512.FusedMultiplyAdd(v1, w, a11);
                a12 = Vector512.FusedMultiplyAdd(v2, w, a12);
                a13 = Vector512.FusedMultiplyAdd(v3, w, a13);
                w = Vector512.Create(w2[p]);
                a20 = Vector512.FusedMultiplyAdd(v0, w, a20);
                a21 = Vector512.FusedMultiplyAdd(v1, w, a21);
                a22 = Vector512.FusedMultiplyAdd(v2, w, a22);
                a23 = Vector512.FusedMultiplyAdd(v3, w, a23);
                w = Vector512.Create(w3[p]);
                a30 = Vector512.FusedMultiplyAdd(v0, w, a30);
                a31 = Vector512.FusedMultiplyAdd(v1, w, a31);
                a32 = Vector512.FusedMultiplyAdd(v2, w, a32);
                a33 = Vector512.FusedMultiplyAdd(v3, w, a33);
            }
        }

        Store4(o0, a00, a01, a02, a03);
        Store4(o1, a10, a11, a12, a13);
        Store4(o2, a20, a21, a22, a23);
        Store4(o3, a30, a31, a32, a33);
    }

    /// <summary>output = Σ weights[p] · V[p] for two heads of a group at head width 128, as
    /// <see cref="WeightedSum64x4"/> does for four heads of width 64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightedSum128x2<TLoad>(
        float* w0, float* w1, float* o0, float* o1, int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, bool prefetch)
        where TLoad : IFloatRowLoader
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a04 = default, a05 = default, a06 = default, a07 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a14 = default, a15 = default, a16 = default, a17 = default;
        var rowBytes = 128 * _cache!.ElementBytes;
        long blockBytes = blockSize * rowBytes;
        var head = _cache.HeadStart(_values, kvHead);
        for (var start = 0; start < context; start += blockSize)
        {
            var b = start / blockSize;
            var values = head + (blockTable[b] * blockBytes);
            var next = prefetch && start + (_prefetchBlocks * blockSize) < context ? head + (blockTable[b + _prefetchBlocks] * blockBytes) : null;
            var count = Math.Min(blockSize, context - start);
            for (var j = 0; j < count; j++)
            {
                if (next != null)
                {
                    CachePrefetch.Lines(next + (j * rowBytes), rowBytes);
                }

                var v = values + (j * rowBytes);
                var p = start + j;
                var x0 = Vector512.Create(w0[p]);
                var x1 = Vector512.Create(w1[p]);
                var v0 = TLoad.Load16(v, 0);
                a00 = Vector512.FusedMultiplyAdd(v0, x0, a00);
                a10 = Vector512.FusedMultiplyAdd(v0, x1, a10);
                var v1 = TLoad.Load16(v, 16);
                a01 = Vector512.FusedMultiplyAdd(v1, x0, a01);
                a11 = Vector512.FusedMultiplyAdd(v1, x1, a11);
                var v2 = TLoad.Load16(v, 32);
                a02 = Vector512.FusedMultiplyAdd(v2, x0, a02);
                a12 = Vector512.FusedMultiplyAdd(v2, x1, a12);
                var v3 = TLoad.Load16(v, 48);
                a03 = Vector512.FusedMultiplyAdd(v3, x0, a03);
                a13 = Vector512.FusedMultiplyAdd(v3, x1, a13);
                var v4 = TLoad.Load16(v, 64);
                a04 = Vector512.FusedMultiplyAdd(v4, x0, a04);
                a14 = Vector512.FusedMultiplyAdd(v4, x1, a14);
                var v5 = TLoad.Load16(v, 80);
                a05 = Vector512.FusedMultiplyAdd(v5, x0, a05);
                a15 = Vector512.FusedMultiplyAdd(v5, x1, a15);
                var v6 = TLoad.Load16(v, 96);
                a06 = Vector512.FusedMultiplyAdd(v6, x0, a06);
                a16 = Vector512.FusedMultiplyAdd(v6, x1, a16);
                var v7 = TLoad.Load16(v, 112);
                a07 = Vector512.FusedMultiplyAdd(v7, x0, a07);
                a17 = Vector512.FusedMultiplyAdd(v7, x1, a17);
            }
        }

        Store4(o0, a00, a01, a02, a03);
        Store4(o0 + 64, a04, a05, a06, a07);
        Store4(o1, a10, a11, a12, a13);
        Store4(o1 + 64, a14, a15, a16, a17);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(float* output, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        a0.Store(output);
        a1.Store(output + 16);
        a2.Store(output + 32);
        a3.Store(output + 48);
    }

    private void WeightedSum<TLoad>(float* weights, int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, float* output, bool prefetch)
        where TLoad : IFloatRowLoader
    {
        new Span<float>(output, _headDim).Clear();
        var rowBytes = _headDim * _cache!.ElementBytes;
        for (var start = 0; start < context; start += blockSize)
        {
            var values = _cache.HeadBlock(_values, blockTable[start / blockSize], kvHead);
            var count = Math.Min(blockSize, context - start);
            if (prefetch && start + blockSize < context)
            {
                CachePrefetch.Lines(_cache.HeadBlock(_values, blockTable[(start / blockSize) + 1], kvHead), blockSize * rowBytes);
            }

            for (var j = 0; j < count; j++)
            {
                AddScaled<TLoad>(output, values + (j * rowBytes), weights[start + j]);
            }
        }
    }

    /// <summary>output += weight · row over the head width: one fused multiply-add per element, in order of
    /// elements within each vector, like the register-tiled kernels.</summary>
    private void AddScaled<TLoad>(float* output, byte* row, float weight)
        where TLoad : IFloatRowLoader
    {
        var d = 0;
        var w = Vector256.Create(weight);
        for (; d + 8 <= _headDim; d += 8)
        {
            Vector256.FusedMultiplyAdd(TLoad.Load8(row, d), w, Vector256.Load(output + d)).Store(output + d);
        }

        for (; d < _headDim; d++)
        {
            output[d] = MathF.FusedMultiplyAdd(TLoad.Load1(row, d), weight, output[d]);
        }
    }
}
