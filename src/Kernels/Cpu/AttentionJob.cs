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
        // eight consecutive positions are scored together (one reduction for eight dot products).
        var eightAtOnce = blockSize % 8 == 0 && _headDim % 8 == 0;
        for (var start = 0; start < context; start += blockSize)
        {
            var keys = cache.HeadBlock(_keys, blockTable[start / blockSize], kvHead);
            var count = Math.Min(blockSize, context - start);
            var j = 0;
            if (eightAtOnce)
            {
                for (; j + 8 <= count; j += 8)
                {
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
            var weights = scores + (g * _maxContext);
            Softmax(weights, context);
            if (_headDim == 64 && Vector512.IsHardwareAccelerated)
            {
                WeightedSum64(weights, context, blockTable, blockSize, kvHead, output + (g * _headDim));
            }
            else
            {
                WeightedSum(weights, context, blockTable, blockSize, kvHead, output + (g * _headDim));
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

    /// <summary>output = Σ weights[p] · V[p] for the common head width 64, with the sum held in four 512-bit registers
    /// instead of being loaded and stored for every position.</summary>
    private void WeightedSum64(float* weights, int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, float* output)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var start = 0; start < context; start += blockSize)
        {
            var values = _cache!.HeadBlock(_values, blockTable[start / blockSize], kvHead);
            var count = Math.Min(blockSize, context - start);
            for (var j = 0; j < count; j++)
            {
                var v = values + ((long)j * _headDim);
                var w = Vector512.Create(weights[start + j]);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(v), w, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 16), w, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 32), w, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 48), w, a3);
            }
        }

        a0.Store(output);
        a1.Store(output + 16);
        a2.Store(output + 32);
        a3.Store(output + 48);
    }

    private void WeightedSum(float* weights, int context, ReadOnlySpan<int> blockTable, int blockSize, int kvHead, float* output)
    {
        new Span<float>(output, _headDim).Clear();
        for (var start = 0; start < context; start += blockSize)
        {
            var values = _cache!.HeadBlock(_values, blockTable[start / blockSize], kvHead);
            var count = Math.Min(blockSize, context - start);
            for (var j = 0; j < count; j++)
            {
                VectorOps.AddScaled(output, values + ((long)j * _headDim), weights[start + j], _headDim);
            }
        }
    }
}
