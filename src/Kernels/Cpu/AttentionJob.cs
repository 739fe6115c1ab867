using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Causal attention of every new token over its sequence's cached K/V, read through the block table. One work item
/// is one (token, KV head) pair: the query heads that share that KV head are scored together so each cached key and
/// value row is loaded once for the whole group (grouped-query attention).
/// </summary>
internal sealed unsafe partial class AttentionJob : IParallelJob, IDisposable
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
            Attend(token, kvHead, context, blockTable, _blockSize, scores);
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
}
