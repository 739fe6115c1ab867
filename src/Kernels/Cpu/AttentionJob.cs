using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
    private readonly int _blockSize;

    /// <summary>Floats between two heads' score rows: the context rounded up to whole blocks, because scores are
    /// computed for every slot of a block, also those past the end of the context (never read).</summary>
    private readonly int _scoreStride;
    private readonly float _scale;
    private readonly NativeBuffer<float> _scores;
    private StepInput? _input;
    private float* _queries;
    private float* _output;
    private float* _keys;
    private float* _values;
    private KvCacheStorage? _cache;
    private int _nextItem;

    public AttentionJob(int heads, int kvHeads, int headDim, int maxContext, int blockSize, int threads)
    {
        _heads = heads;
        _kvHeads = kvHeads;
        _group = heads / kvHeads;
        _headDim = headDim;
        _maxContext = maxContext;
        _blockSize = blockSize;
        _scoreStride = (maxContext + blockSize - 1) / blockSize * blockSize;
        _scale = 1f / MathF.Sqrt(headDim);
        _scores = new NativeBuffer<float>((long)threads * _group * _scoreStride);
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
        var scores = _scores.Pointer + ((long)threadIndex * _group * _scoreStride);
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

        // Scores, block by block, one table lookup per block. Keys are stored transposed within a block (one row of
        // blockSize slots per dimension), so a block's scores are sums over dimensions of a key row times a
        // broadcast query element, with no horizontal reductions. A head's slots of a block are a run of a few KiB
        // and the next block can be anywhere in the pool, so the first pass over a block prefetches the next one.
        var blocks = (context + blockSize - 1) / blockSize;
        for (var b = 0; b < blocks; b++)
        {
            var keys = cache.HeadBlock(_keys, blockTable[b], kvHead);
            var next = b + 1 < blocks ? (byte*)cache.HeadBlock(_keys, blockTable[b + 1], kvHead) : null;
            var blockScores = scores + (b * blockSize);
            if (_group == 1)
            {
                ScoreBlock1(query, keys, blockScores, next);
            }
            else
            {
                for (var g = 0; g < _group; g += 8)
                {
                    ScoreBlock8(query, g, keys, blockScores, g == 0 ? next : null);
                }
            }
        }

        var output = _output + ((long)token * _heads * _headDim) + (firstHead * _headDim);
        for (var g = 0; g < _group; g++)
        {
            Softmax(scores + (g * _scoreStride), context);
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
                    scores + (g * _scoreStride), scores + (g1 * _scoreStride), scores + (g2 * _scoreStride), scores + (g3 * _scoreStride),
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
                    scores + (g * _scoreStride), scores + (g1 * _scoreStride), output + (g * _headDim), output + (g1 * _headDim),
                    context, blockTable, blockSize, kvHead, prefetch: g == 0);
            }
        }
        else
        {
            for (var g = 0; g < _group; g++)
            {
                WeightedSum(scores + (g * _scoreStride), context, blockTable, blockSize, kvHead, output + (g * _headDim), prefetch: g == 0);
            }
        }
    }

    /// <summary>Scores of eight heads of a group (from <paramref name="firstHead"/>; past the group's end the last
    /// head repeats, writing the same numbers again) for every slot of one block of transposed keys. Each key row
    /// is loaded once for the eight heads; each score is one fused multiply-add per dimension in dimension order,
    /// whatever the vector width, so results do not depend on the CPU's widths or on the other heads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreBlock8(float* query, int firstHead, float* keys, float* scores, byte* next)
    {
        var q = stackalloc float*[8];
        var s = stackalloc float*[8];
        for (var i = 0; i < 8; i++)
        {
            var head = Math.Min(firstHead + i, _group - 1);
            q[i] = query + (head * _headDim);
            s[i] = scores + (head * _scoreStride);
        }

        float* q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];
        var blockSize = _blockSize;
        var rowBytes = blockSize * sizeof(float);
        var c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; c + 16 <= blockSize; c += 16)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (var d = 0; d < _headDim; d++)
                {
                    if (next != null && c == 0)
                    {
                        CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                    }

                    var k = Vector512.Load(keys + (d * blockSize) + c);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[d]), k, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[d]), k, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[d]), k, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[d]), k, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(q4[d]), k, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(q5[d]), k, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(q6[d]), k, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(q7[d]), k, a7);
                }

                var scale = Vector512.Create(_scale);
                (a0 * scale).Store(s[0] + c);
                (a1 * scale).Store(s[1] + c);
                (a2 * scale).Store(s[2] + c);
                (a3 * scale).Store(s[3] + c);
                (a4 * scale).Store(s[4] + c);
                (a5 * scale).Store(s[5] + c);
                (a6 * scale).Store(s[6] + c);
                (a7 * scale).Store(s[7] + c);
            }
        }

        for (; c + 8 <= blockSize; c += 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (var d = 0; d < _headDim; d++)
            {
                if (next != null && c == 0)
                {
                    CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                }

                var k = Vector256.Load(keys + (d * blockSize) + c);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(q0[d]), k, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(q1[d]), k, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Create(q2[d]), k, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Create(q3[d]), k, a3);
                a4 = Vector256.FusedMultiplyAdd(Vector256.Create(q4[d]), k, a4);
                a5 = Vector256.FusedMultiplyAdd(Vector256.Create(q5[d]), k, a5);
                a6 = Vector256.FusedMultiplyAdd(Vector256.Create(q6[d]), k, a6);
                a7 = Vector256.FusedMultiplyAdd(Vector256.Create(q7[d]), k, a7);
            }

            var scale = Vector256.Create(_scale);
            (a0 * scale).Store(s[0] + c);
            (a1 * scale).Store(s[1] + c);
            (a2 * scale).Store(s[2] + c);
            (a3 * scale).Store(s[3] + c);
            (a4 * scale).Store(s[4] + c);
            (a5 * scale).Store(s[5] + c);
            (a6 * scale).Store(s[6] + c);
            (a7 * scale).Store(s[7] + c);
        }

        for (; c < blockSize; c++)
        {
            for (var i = 0; i < 8; i++)
            {
                s[i][c] = ScoreSlot(q[i], keys + c) * _scale;
            }
        }
    }

    /// <summary><see cref="ScoreBlock8"/> for a group of one head (multi-head attention).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreBlock1(float* query, float* keys, float* scores, byte* next)
    {
        var blockSize = _blockSize;
        var rowBytes = blockSize * sizeof(float);
        var c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; c + 16 <= blockSize; c += 16)
            {
                var a = Vector512<float>.Zero;
                for (var d = 0; d < _headDim; d++)
                {
                    if (next != null && c == 0)
                    {
                        CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                    }

                    a = Vector512.FusedMultiplyAdd(Vector512.Create(query[d]), Vector512.Load(keys + (d * blockSize) + c), a);
                }

                (a * Vector512.Create(_scale)).Store(scores + c);
            }
        }

        for (; c + 8 <= blockSize; c += 8)
        {
            var a = Vector256<float>.Zero;
            for (var d = 0; d < _headDim; d++)
            {
                if (next != null && c == 0)
                {
                    CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                }

                a = Vector256.FusedMultiplyAdd(Vector256.Create(query[d]), Vector256.Load(keys + (d * blockSize) + c), a);
            }

            (a * Vector256.Create(_scale)).Store(scores + c);
        }

        for (; c < blockSize; c++)
        {
            scores[c] = ScoreSlot(query, keys + c) * _scale;
        }
    }

    /// <summary>One slot's dot product, in the vector kernels' order (one fused multiply-add per dimension).</summary>
    private float ScoreSlot(float* query, float* key)
    {
        var sum = 0f;
        for (var d = 0; d < _headDim; d++)
        {
            sum = MathF.FusedMultiplyAdd(query[d], key[(long)d * _blockSize], sum);
        }

        return sum;
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
