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
    private readonly int _kvDim;
    private readonly int _maxContext;
    private readonly float _scale;
    private readonly NativeBuffer<float> _scores;
    private StepInput? _input;
    private float* _queries;
    private float* _output;
    private float* _keys;
    private float* _values;
    private int _nextItem;

    public AttentionJob(int heads, int kvHeads, int headDim, int maxContext, int threads)
    {
        _heads = heads;
        _kvHeads = kvHeads;
        _group = heads / kvHeads;
        _headDim = headDim;
        _kvDim = kvHeads * headDim;
        _maxContext = maxContext;
        _scale = 1f / MathF.Sqrt(headDim);
        _scores = new NativeBuffer<float>((long)threads * _group * maxContext);
    }

    public void Set(StepInput input, float* queries, float* output, float* keys, float* values)
    {
        _input = input;
        _queries = queries;
        _output = output;
        _keys = keys;
        _values = values;
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
        var max = float.NegativeInfinity;
        for (var i = 0; i < n; i++)
        {
            max = MathF.Max(max, x[i]);
        }

        var i8 = 0;
        var vmax = Vector256.Create(max);
        var vsum = Vector256<float>.Zero;
        for (; i8 + 8 <= n; i8 += 8)
        {
            var e = Vector256.Exp(Vector256.Load(x + i8) - vmax);
            e.Store(x + i8);
            vsum += e;
        }

        var sum = Vector256.Sum(vsum);
        for (; i8 < n; i8++)
        {
            x[i8] = MathF.Exp(x[i8] - max);
            sum += x[i8];
        }

        var inverse = 1f / sum;
        for (var i = 0; i < n; i++)
        {
            x[i] *= inverse;
        }
    }

    private void Attend(int token, int kvHead, int context, ReadOnlySpan<int> blockTable, int blockSize, float* scores)
    {
        var firstHead = kvHead * _group;
        var query = _queries + ((long)token * _heads * _headDim) + (firstHead * _headDim);
        var headOffset = kvHead * _headDim;
        for (var p = 0; p < context; p++)
        {
            var slot = (blockTable[p / blockSize] * blockSize) + (p % blockSize);
            var key = _keys + ((long)slot * _kvDim) + headOffset;
            for (var g = 0; g < _group; g++)
            {
                scores[(g * _maxContext) + p] = VectorOps.Dot(query + (g * _headDim), key, _headDim) * _scale;
            }
        }

        var output = _output + ((long)token * _heads * _headDim) + (firstHead * _headDim);
        for (var g = 0; g < _group; g++)
        {
            Softmax(scores + (g * _maxContext), context);
            new Span<float>(output + (g * _headDim), _headDim).Clear();
        }

        for (var p = 0; p < context; p++)
        {
            var slot = (blockTable[p / blockSize] * blockSize) + (p % blockSize);
            var value = _values + ((long)slot * _kvDim) + headOffset;
            for (var g = 0; g < _group; g++)
            {
                VectorOps.AddScaled(output + (g * _headDim), value, scores[(g * _maxContext) + p], _headDim);
            }
        }
    }
}
