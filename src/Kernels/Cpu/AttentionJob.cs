using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Numerics;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Causal attention of every new token over its sequence's cached K/V, read through the block table. One work item
/// is one (token, KV head) pair: the query heads that share that KV head are scored together so each cached key and
/// value row is loaded once for the whole group (grouped-query attention). The kernels are generic over how a cached
/// element is widened to fp32 (<see cref="F32RowLoader"/> or, the cache storing only finite halves,
/// <see cref="F16ScaledDownRowLoader"/>), so an fp16 cache runs the same multiply-adds in the same order on the
/// widened values. The fp16 widening leaves out its rescaling multiply: keys and values arrive 2^112 too small, and
/// the queries and the softmax weights they meet are 2^112 too large, so every product is exact and equal to the
/// unscaled one and each fused multiply-add rounds to the same result (items with a query element of magnitude
/// 65,504 or more widen with <see cref="F16FiniteRowLoader"/> instead).
/// </summary>
internal sealed unsafe partial class AttentionJob : IParallelJob, IDisposable
{
    /// <summary>How far ahead of the block being read the next blocks are requested. A block of one head is 2–8 KiB
    /// and takes less time to compute than memory takes to answer, so one block ahead left the loads waiting (fp32
    /// cache at 1,024 positions, alternated: 1.43 → 1.25 ms per token with 8 KiB ahead).</summary>
    private const int PrefetchBytes = 8192;

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
    private readonly NativeBuffer<float> _scaledQueries;
    private StepInput? _input;
    private float* _queries;
    private float* _output;
    private byte* _keys;
    private byte* _values;
    private KvCacheStorage? _cache;
    private RotaryEmbedding? _rope;
    private float* _newKeys;
    private float* _newValues;
    private float* _cos;
    private float* _sin;
    private int _layer;
    private int _nextItem;
    private int _prefetchBlocks;

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
        _scaledQueries = new NativeBuffer<float>((long)threads * _group * headDim);
    }

    public void Set(StepInput input, float* queries, float* output, KvCacheStorage cache, int layer)
    {
        // The key kernels index blocks by the block size given at construction; a step with another one would read
        // the wrong slots.
        if (input.BlockSize != _blockSize || cache.BlockSize != _blockSize)
        {
            throw new ArgumentException($"attention was built for blocks of {_blockSize} tokens; the step has {input.BlockSize} and the cache {cache.BlockSize}", nameof(input));
        }

        _input = input;
        _queries = queries;
        _output = output;
        _cache = cache;
        _layer = layer;
        _rope = null;
        _keys = cache.Keys(layer);
        _values = cache.Values(layer);
        _nextItem = 0;
        var headBlockBytes = _blockSize * _headDim * cache.ElementBytes;
        _prefetchBlocks = Math.Max(1, PrefetchBytes / headBlockBytes);
    }

    /// <summary>Makes each work item first rotate its own query heads and key head and write its key and value
    /// head to the token's slot, which the step's <see cref="Set"/> otherwise expects done for every token before
    /// the job runs. Only for steps in which every sequence has one new token: an item then reads no K/V that another
    /// item writes. Each head gets the same operations as the whole-token RoPE and write, so the results are the same
    /// bits; what changes is that the work runs on both cores in the attention job instead of on the calling
    /// thread before it, and each core finds its heads' new K/V in its own cache. <paramref name="keys"/> and
    /// <paramref name="values"/> hold every token's KV heads contiguously, <paramref name="cos"/> and
    /// <paramref name="sin"/> <see cref="RotaryEmbedding.Half"/> values per token.</summary>
    public void RotateAndWriteInItems(RotaryEmbedding rope, float* keys, float* values, float* cos, float* sin)
    {
        var input = _input!;
        if (input.TokenCount != input.SequenceCount)
        {
            throw new InvalidOperationException($"rotating and writing inside the items needs one new token per sequence; the step has {input.TokenCount} tokens in {input.SequenceCount} sequences");
        }

        _rope = rope;
        _newKeys = keys;
        _newValues = values;
        _cos = cos;
        _sin = sin;
    }

    public void Execute(int threadIndex)
    {
        var input = _input!;
        var items = input.TokenCount * _kvHeads;
        var scores = _scores.Pointer + ((long)threadIndex * _group * _scoreStride);
        var scaledQuery = _scaledQueries.Pointer + ((long)threadIndex * _group * _headDim);
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
            var query = _queries + ((long)token * _heads * _headDim) + (kvHead * _group * _headDim);
            if (_rope is { } rope)
            {
                var kv = ((long)token * _kvHeads * _headDim) + (kvHead * _headDim);
                var cos = _cos + (token * rope.Half);
                var sin = _sin + (token * rope.Half);
                rope.Apply(query, _group, cos, sin);
                rope.Apply(_newKeys + kv, 1, cos, sin);
                _cache!.WriteHead(_layer, input.SlotMapping[token], kvHead, _newKeys + kv, _newValues + kv);
            }

            if (_cache!.DataType != KvCacheDataType.F16)
            {
                Attend<F32RowLoader>(token, kvHead, context, blockTable, _blockSize, query, 1f, scores);
            }
            else if (F16ScaledDownRowLoader.TryScaleUp(query, scaledQuery, _group * _headDim))
            {
                Attend<F16ScaledDownRowLoader>(token, kvHead, context, blockTable, _blockSize, scaledQuery, F16ScaledDownRowLoader.Compensation, scores);
            }
            else
            {
                Attend<F16FiniteRowLoader>(token, kvHead, context, blockTable, _blockSize, query, 1f, scores);
            }
        }
    }

    public void Dispose()
    {
        _scores.Dispose();
        _scaledQueries.Dispose();
    }

    /// <summary>x[i] = e^(x[i] − max x) · <paramref name="storeScale"/> for the n scores of one head; returns the
    /// sum of the unscaled e^(x[i] − max x). The division by the sum is left to the weighted sums, which scale their
    /// n-term result once instead of every weight. A power-of-two <paramref name="storeScale"/> changes no bit of
    /// the weights but their exponent (they are normal numbers at most 1). Compiled optimised at its first call, as
    /// <see cref="VectorOps"/> explains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Exponentiate(float* x, int n, float storeScale)
    {
        // The maximum by the CPU's own max instruction, four independent chains: Vector512.Max orders −0 below +0
        // and propagates NaN with three instructions per step of one dependent chain, which made this pass as slow
        // as the exponentials after it. For finite scores the result is the same number (a ±0 maximum only changes
        // the sign of a zero difference, whose exponential is 1 either way). With a NaN score the maximum is NaN or
        // the largest other score, and the weights come out finite either way (VectorExp maps NaN to e^−87).
        var max = float.NegativeInfinity;
        var i = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var m0 = Vector512.Load(x);
            var m1 = m0;
            var m2 = m0;
            var m3 = m0;
            for (i = 16; i + 64 <= n; i += 64)
            {
                m0 = Vector512.MaxNative(m0, Vector512.Load(x + i));
                m1 = Vector512.MaxNative(m1, Vector512.Load(x + i + 16));
                m2 = Vector512.MaxNative(m2, Vector512.Load(x + i + 32));
                m3 = Vector512.MaxNative(m3, Vector512.Load(x + i + 48));
            }

            for (; i + 16 <= n; i += 16)
            {
                m0 = Vector512.MaxNative(m0, Vector512.Load(x + i));
            }

            var m = Vector512.MaxNative(Vector512.MaxNative(m0, m1), Vector512.MaxNative(m2, m3));
            max = Max8(Vector256.MaxNative(m.GetLower(), m.GetUpper()));
        }
        else if (n >= 8)
        {
            var vmax = Vector256.Load(x);
            for (i = 8; i + 8 <= n; i += 8)
            {
                vmax = Vector256.MaxNative(vmax, Vector256.Load(x + i));
            }

            max = Max8(vmax);
        }

        for (; i < n; i++)
        {
            max = x[i] > max ? x[i] : max;
        }

        var sum = 0f;
        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var splat = Vector512.Create(max);
            var vsum = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                var e = VectorExp.Exp(Vector512.Load(x + i) - splat);
                (e * storeScale).Store(x + i);
                vsum += e;
            }

            sum = Vector512.Sum(vsum);
        }
        else
        {
            var splat = Vector256.Create(max);
            var vsum = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var e = VectorExp.Exp(Vector256.Load(x + i) - splat);
                (e * storeScale).Store(x + i);
                vsum += e;
            }

            sum = Vector256.Sum(vsum);
        }

        for (; i < n; i++)
        {
            var e = VectorExp.Exp(x[i] - max);
            x[i] = e * storeScale;
            sum += e;
        }

        return sum;
    }

    private static float Max8(Vector256<float> v)
    {
        var q = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        q = Vector128.MaxNative(q, Vector128.Shuffle(q, Vector128.Create(2, 3, 0, 1)));
        q = Vector128.MaxNative(q, Vector128.Shuffle(q, Vector128.Create(1, 0, 3, 2)));
        return q.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attend<TLoad>(int token, int kvHead, int context, ReadOnlySpan<int> blockTable, int blockSize, float* query, float weightScale, float* scores)
        where TLoad : IFloatRowLoader
    {
        var firstHead = kvHead * _group;
        var cache = _cache!;

        // Scores, block by block, one table lookup per block. Keys are stored transposed within a block (one row of
        // blockSize slots per dimension), so a block's scores are sums over dimensions of a key row times a
        // broadcast query element, with no horizontal reductions. A head's slots of a block are a run of a few KiB
        // and the next block can be anywhere in the pool, so the blocks PrefetchBytes ahead are requested while the
        // current one is scored.
        var blocks = (context + blockSize - 1) / blockSize;
        var ahead = _prefetchBlocks;
        var headBlockBytes = blockSize * _headDim * cache.ElementBytes;
        for (var p = 1; p < ahead && p < blocks; p++)
        {
            CachePrefetch.Lines(cache.HeadBlock(_keys, blockTable[p], kvHead), headBlockBytes);
        }

        var b = 0;
        if (_group > 1 && Vector512.IsHardwareAccelerated && blockSize % 16 == 0)
        {
            // Two blocks at a time: sixteen independent sums instead of eight, and each broadcast query element
            // serves two key rows.
            for (; b + 2 <= blocks; b += 2)
            {
                var first = cache.HeadBlock(_keys, blockTable[b], kvHead);
                var second = cache.HeadBlock(_keys, blockTable[b + 1], kvHead);
                var nextFirst = b + ahead < blocks ? cache.HeadBlock(_keys, blockTable[b + ahead], kvHead) : null;
                var nextSecond = b + 1 + ahead < blocks ? cache.HeadBlock(_keys, blockTable[b + 1 + ahead], kvHead) : null;
                for (var g = 0; g < _group; g += 8)
                {
                    ScoreBlockPair8<TLoad>(query, g, first, second, scores + (b * blockSize), g == 0 ? nextFirst : null, g == 0 ? nextSecond : null);
                }
            }
        }

        for (; b < blocks; b++)
        {
            var keys = cache.HeadBlock(_keys, blockTable[b], kvHead);
            var next = b + ahead < blocks ? cache.HeadBlock(_keys, blockTable[b + ahead], kvHead) : null;
            var blockScores = scores + (b * blockSize);
            if (_group == 1)
            {
                ScoreBlock1<TLoad>(query, keys, blockScores, next);
            }
            else
            {
                for (var g = 0; g < _group; g += 8)
                {
                    ScoreBlock8<TLoad>(query, g, keys, blockScores, g == 0 ? next : null);
                }
            }
        }

        var output = _output + ((long)token * _heads * _headDim) + (firstHead * _headDim);
        for (var p = 0; p < ahead && p < blocks; p++)
        {
            CachePrefetch.Lines(cache.HeadBlock(_values, blockTable[p], kvHead), headBlockBytes);
        }

        var sums = stackalloc float[_group];
        for (var g = 0; g < _group; g++)
        {
            sums[g] = Exponentiate(scores + (g * _scoreStride), context, weightScale);
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
                WeightedSum64x4<TLoad>(
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
                WeightedSum128x2<TLoad>(
                    scores + (g * _scoreStride), scores + (g1 * _scoreStride), output + (g * _headDim), output + (g1 * _headDim),
                    context, blockTable, blockSize, kvHead, prefetch: g == 0);
            }
        }
        else
        {
            for (var g = 0; g < _group; g++)
            {
                WeightedSum<TLoad>(scores + (g * _scoreStride), context, blockTable, blockSize, kvHead, output + (g * _headDim), prefetch: g == 0);
            }
        }

        for (var g = 0; g < _group; g++)
        {
            Scale(output + (g * _headDim), 1f / sums[g], _headDim);
        }
    }

    private static void Scale(float* x, float factor, int n)
    {
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(x + i) * factor).Store(x + i);
        }

        for (; i < n; i++)
        {
            x[i] *= factor;
        }
    }
}
