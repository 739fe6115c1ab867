using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Causal attention of every new token over its sequence's cached K/V, read through the block table. One work item
/// is one (token, KV head) pair: the query heads that share that KV head are scored together so each cached key and
/// value row is loaded once for the whole group (grouped-query attention).
/// </summary>
internal sealed unsafe class AttentionJob : IParallelJob, IDisposable
{
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _group;
    private readonly int _headDim;
    private readonly int _maxContext;
    private readonly float _scale;
    private readonly NativeBuffer<float> _scores;
    private StepInput? _input;
    private float* _queries;
    private float* _output;
    private float* _keys;
    private float* _values;
    private KvCacheStorage? _cache;
    private int _nextItem;

    public AttentionJob(int heads, int kvHeads, int headDim, int maxContext, int threads)
    {
        _heads = heads;
        _kvHeads = kvHeads;
        _group = heads / kvHeads;
        _headDim = headDim;
        _maxContext = maxContext;
        _scale = 1f / MathF.Sqrt(headDim);
        _scores = new NativeBuffer<float>((long)threads * _group * maxContext);
    }

    public void Set(StepInput input, float* queries, float* output, KvCacheStorage cache, int layer)
    {
        _input = input;
        _queries = queries;
        _output = output;
        _cache = cache;
        _keys = cache.Keys(layer);
        _values = cache.Values(layer);
        _nextItem = 0;
    }

    public void Execute(int threadIndex)
    {
        var input = _input!;
        var items = input.TokenCount * _kvHeads;
        var scores = _scores.Pointer + ((long)threadIndex * _group * _maxContext);
        while (true)
        {
            var item = Interlocked.Increment(ref _nextItem) - 1;
            if (item >= items)
            {
                return;
            }

            var token = item / _kvHeads;
            var kvHead = item % _kvHeads;
            var context = input.Positions[token] + 1;
            var blockTable = input.BlockTable(input.TokenSequence[token]);
            Attend(token, kvHead, context, blockTable, input.BlockSize, scores);
        }
    }

    public void Dispose() => _scores.Dispose();

    private static void Softmax(float* x, int n)
    {
        var vmax = Vector256.Create(float.NegativeInfinity);
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            vmax = Vector256.Max(vmax, Vector256.Load(x + i));
        }

        var max = float.NegativeInfinity;
        for (var lane = 0; lane < 8; lane++)
        {
            max = MathF.Max(max, vmax.GetElement(lane));
        }

        for (; i < n; i++)
        {
            max = MathF.Max(max, x[i]);
        }

        var vsum = Vector256<float>.Zero;
        var splat = Vector256.Create(max);
        i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var e = Vector256.Exp(Vector256.Load(x + i) - splat);
            e.Store(x + i);
            vsum += e;
        }

        var sum = Vector256.Sum(vsum);
        for (; i < n; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }

        var inverse = Vector256.Create(1f / sum);
        i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(x + i) * inverse).Store(x + i);
        }

        for (; i < n; i++)
        {
            x[i] *= inverse.ToScalar();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attend(int token, int kvHead, int context, ReadOnlySpan<int> blockTable, int blockSize, float* scores)
    {
        var firstHead = kvHead * _group;
        var query = _queries + ((long)token * _heads * _headDim) + (firstHead * _headDim);
        var cache = _cache!;

        // Scores, block by block: the slots of a block are contiguous, so only one table lookup per block, and
        // eight consecutive positions are scored together (one reduction for eight dot products). A head's slots of
        // a block are a run of a few KiB and the next block is anywhere in the pool, so the next block is
        // prefetched while this one is scored; without it every block began with a full memory latency.
        var eightAtOnce = Avx.IsSupported && blockSize % 8 == 0 && _headDim % 8 == 0;
        var blocks = (context + blockSize - 1) / blockSize;
        var rowBytes = _headDim * sizeof(float);
        for (var b = 0; b < blocks; b++)
        {
            var start = b * blockSize;
            var keys = cache.HeadBlock(_keys, blockTable[b], kvHead);
            var next = b + 1 < blocks ? (byte*)cache.HeadBlock(_keys, blockTable[b + 1], kvHead) : null;
            var count = Math.Min(blockSize, context - start);
            var j = 0;
            if (eightAtOnce)
            {
                for (; j + 8 <= count; j += 8)
                {
                    if (next != null)
                    {
                        CachePrefetch.Lines(next + (j * rowBytes), 8 * rowBytes);
                    }

                    var key = keys + ((long)j * _headDim);
                    for (var g = 0; g < _group; g++)
                    {
                        (Dot8(query + (g * _headDim), key) * Vector256.Create(_scale)).Store(scores + (g * _maxContext) + start + j);
                    }
                }
            }

            for (; j < count; j++)
            {
                var key = keys + ((long)j * _headDim);
                for (var g = 0; g < _group; g++)
                {
                    scores[(g * _maxContext) + start + j] = VectorOps.Dot(query + (g * _headDim), key, _headDim) * _scale;
                }
            }
        }

        var output = _output + ((long)token * _heads * _headDim) + (firstHead * _headDim);
        for (var g = 0; g < _group; g++)
        {
            Softmax(scores + (g * _maxContext), context);
        }

        if (_headDim == 64 && Vector512.IsHardwareAccelerated)
        {
            // Four heads per pass over the values; a group that is not a multiple of four repeats its last head,
            // which writes the same numbers to the same place again.
            for (var g = 0; g < _group; g += 4)
            {
                var g1 = Math.Min(g + 1, _group - 1);
                var g2 = Math.Min(g + 2, _group - 1);
                var g3 = Math.Min(g + 3, _group - 1);
                WeightedSum64x4(
                    scores + (g * _maxContext), scores + (g1 * _maxContext), scores + (g2 * _maxContext), scores + (g3 * _maxContext),
                    output + (g * _headDim), output + (g1 * _headDim), output + (g2 * _headDim), output + (g3 * _headDim),
                    context, blockTable, blockSize, kvHead, prefetch: g == 0);
            }
        }
        else if (_headDim == 128 && Vector512.IsHardwareAccelerated)
        {
            // The head width of most 7B–70B models: two heads per pass (sixteen 512-bit sums), the last one
            // repeated for an odd group.
            for (var g = 0; g < _group; g += 2)
            {
                var g1 = Math.Min(g + 1, _group - 1);
                WeightedSum128x2(
                    scores + (g * _maxContext), scores + (g1 * _maxContext), output + (g * _headDim), output + (g1 * _headDim),
                    context, blockTable, blockSize, kvHead, prefetch: g == 0);
            }
        }
        else
        {
            for (var g = 0; g < _group; g++)
            {
                WeightedSum(scores + (g * _maxContext), context, blockTable, blockSize, kvHead, output + (g * _headDim), prefetch: g == 0);
            }
        }
    }

    /// <summary>Dot products of <paramref name="query"/> with the keys of eight consecutive slots of one block (contiguous, headDim apart),
    /// reduced together with a horizontal-add tree: lane j holds the score of slot j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector256<float> Dot8(float* query, float* key)
    {
        long stride = _headDim;
        Vector256<float> a0, a1, a2, a3, a4, a5, a6, a7;
        if (Vector512.IsHardwareAccelerated && _headDim % 16 == 0)
        {
            // 512-bit products halve the instruction count; each sum then folds to 256 bits for the reduction tree.
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            Vector512<float> b4 = default, b5 = default, b6 = default, b7 = default;
            for (var i = 0; i < _headDim; i += 16)
            {
                var q = Vector512.Load(query + i);
                var k = key + i;
                b0 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k), b0);
                b1 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k + stride), b1);
                b2 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k + (2 * stride)), b2);
                b3 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k + (3 * stride)), b3);
                b4 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k + (4 * stride)), b4);
                b5 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k + (5 * stride)), b5);
                b6 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k + (6 * stride)), b6);
                b7 = Vector512.FusedMultiplyAdd(q, Vector512.Load(k + (7 * stride)), b7);
            }

            (a0, a1, a2, a3) = (b0.GetLower() + b0.GetUpper(), b1.GetLower() + b1.GetUpper(), b2.GetLower() + b2.GetUpper(), b3.GetLower() + b3.GetUpper());
            (a4, a5, a6, a7) = (b4.GetLower() + b4.GetUpper(), b5.GetLower() + b5.GetUpper(), b6.GetLower() + b6.GetUpper(), b7.GetLower() + b7.GetUpper());
        }
        else
        {
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = Vector256<float>.Zero;
            for (var i = 0; i < _headDim; i += 8)
            {
                var q = Vector256.Load(query + i);
                var k = key + i;
                a0 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k), a0);
                a1 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + stride), a1);
                a2 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + (2 * stride)), a2);
                a3 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + (3 * stride)), a3);
                a4 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + (4 * stride)), a4);
                a5 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + (5 * stride)), a5);
                a6 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + (6 * stride)), a6);
                a7 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + (7 * stride)), a7);
            }
        }

        var h0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
        var h4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
        return Avx.Permute2x128(h0123, h4567, 0x20) + Avx.Permute2x128(h0123, h4567, 0x31);
    }

    /// <summary>output = Σ weights[p] · V[p] for four heads of a group at the common head width 64: each value row
    /// is loaded once for the four, and the sixteen sums stay in registers. Per head the operations are the same
    /// fused multiply-adds in the same order whichever heads share the pass. The first pass over a sequence
    /// prefetches the next block while it works on the current one; later passes find the values in cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightedSum64x4(
        float* w0, float* w1, float* w2, float* w3, float* o0, float* o1, float* o2, float* o3,
        int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, bool prefetch)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        // One multiply per block from a precomputed head offset and block stride: the full address computation of
        // KvCacheStorage.HeadBlock here measured 7 % slower at head width 128.
        long blockFloats = blockSize * 64;
        var head = _values + (kvHead * blockFloats);
        var blockStride = _kvHeads * blockFloats;
        for (var start = 0; start < context; start += blockSize)
        {
            var b = start / blockSize;
            var values = head + (blockTable[b] * blockStride);
            var next = prefetch && start + blockSize < context ? (byte*)(head + (blockTable[b + 1] * blockStride)) : null;
            var count = Math.Min(blockSize, context - start);
            for (var j = 0; j < count; j++)
            {
                if (next != null)
                {
                    CachePrefetch.Lines(next + (j * 256), 256);
                }

                var v = values + ((long)j * 64);
                var v0 = Vector512.Load(v);
                var v1 = Vector512.Load(v + 16);
                var v2 = Vector512.Load(v + 32);
                var v3 = Vector512.Load(v + 48);
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
    private void WeightedSum128x2(
        float* w0, float* w1, float* o0, float* o1, int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, bool prefetch)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a04 = default, a05 = default, a06 = default, a07 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a14 = default, a15 = default, a16 = default, a17 = default;
        long blockFloats = blockSize * 128;
        var head = _values + (kvHead * blockFloats);
        var blockStride = _kvHeads * blockFloats;
        for (var start = 0; start < context; start += blockSize)
        {
            var b = start / blockSize;
            var values = head + (blockTable[b] * blockStride);
            var next = prefetch && start + blockSize < context ? (byte*)(head + (blockTable[b + 1] * blockStride)) : null;
            var count = Math.Min(blockSize, context - start);
            for (var j = 0; j < count; j++)
            {
                if (next != null)
                {
                    CachePrefetch.Lines(next + (j * 512), 512);
                }

                var v = values + ((long)j * 128);
                var p = start + j;
                var x0 = Vector512.Create(w0[p]);
                var x1 = Vector512.Create(w1[p]);
                var v0 = Vector512.Load(v);
                a00 = Vector512.FusedMultiplyAdd(v0, x0, a00);
                a10 = Vector512.FusedMultiplyAdd(v0, x1, a10);
                var v1 = Vector512.Load(v + 16);
                a01 = Vector512.FusedMultiplyAdd(v1, x0, a01);
                a11 = Vector512.FusedMultiplyAdd(v1, x1, a11);
                var v2 = Vector512.Load(v + 32);
                a02 = Vector512.FusedMultiplyAdd(v2, x0, a02);
                a12 = Vector512.FusedMultiplyAdd(v2, x1, a12);
                var v3 = Vector512.Load(v + 48);
                a03 = Vector512.FusedMultiplyAdd(v3, x0, a03);
                a13 = Vector512.FusedMultiplyAdd(v3, x1, a13);
                var v4 = Vector512.Load(v + 64);
                a04 = Vector512.FusedMultiplyAdd(v4, x0, a04);
                a14 = Vector512.FusedMultiplyAdd(v4, x1, a14);
                var v5 = Vector512.Load(v + 80);
                a05 = Vector512.FusedMultiplyAdd(v5, x0, a05);
                a15 = Vector512.FusedMultiplyAdd(v5, x1, a15);
                var v6 = Vector512.Load(v + 96);
                a06 = Vector512.FusedMultiplyAdd(v6, x0, a06);
                a16 = Vector512.FusedMultiplyAdd(v6, x1, a16);
                var v7 = Vector512.Load(v + 112);
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

    private void WeightedSum(float* weights, int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, float* output, bool prefetch)
    {
        new Span<float>(output, _headDim).Clear();
        for (var start = 0; start < context; start += blockSize)
        {
            var values = _cache!.HeadBlock(_values, blockTable[start / blockSize], kvHead);
            var count = Math.Min(blockSize, context - start);
            if (prefetch && start + blockSize < context)
            {
                CachePrefetch.Lines((byte*)_cache.HeadBlock(_values, blockTable[(start / blockSize) + 1], kvHead), blockSize * _headDim * sizeof(float));
            }

            for (var j = 0; j < count; j++)
            {
                VectorOps.AddScaled(output, values + ((long)j * _headDim), weights[start + j], _headDim);
            }
        }
    }
}
