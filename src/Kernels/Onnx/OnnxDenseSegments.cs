using Microsoft.ML.OnnxRuntime;
using Serving.Kernels.Cpu;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Onnx;

/// <summary>
/// The dense segments of <see cref="LlamaOnnxDefinition"/> run by ONNX Runtime's CPU execution provider: two sessions
/// per layer and one for the head, all on the global thread pool, reading and writing the runner's buffers.
/// </summary>
internal sealed unsafe class OnnxDenseSegments : IDenseSegments
{
    private readonly ModelConfig _config;
    private readonly RunOptions _run = new();
    private readonly OnnxSegment[] _pre;
    private readonly OnnxSegment[] _post;
    private readonly OnnxSegment _head;
    private readonly NativeBuffer<float> _next;
    private readonly NativeBuffer<float> _rows;
    private readonly BoundTensor _x;
    private readonly BoundTensor _nextView;
    private readonly BoundTensor _q;
    private readonly BoundTensor _k;
    private readonly BoundTensor _v;
    private readonly BoundTensor _attended;
    private readonly BoundTensor _rowsView;
    private readonly BoundTensor _logits;
    private readonly OrtValue[] _one = new OrtValue[1];
    private readonly OrtValue[] _result = new OrtValue[1];
    private readonly OrtValue[] _two = new OrtValue[2];
    private readonly OrtValue[] _three = new OrtValue[3];

    public OnnxDenseSegments(ModelConfig config, ModelWeights weights, int threads, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        _config = config;
        OnnxEnvironment.Ensure(threads);
        _pre = new OnnxSegment[config.LayerCount];
        _post = new OnnxSegment[config.LayerCount];
        for (var i = 0; i < config.LayerCount; i++)
        {
            _pre[i] = new OnnxSegment(LlamaOnnxDefinition.PreAttention(config, weights.Layers[i]), _run);
            _post[i] = new OnnxSegment(LlamaOnnxDefinition.PostAttention(config, weights.Layers[i]), _run);
        }

        _head = new OnnxSegment(LlamaOnnxDefinition.Head(config, weights), _run);
        _next = new NativeBuffer<float>((long)maxTokens * config.HiddenSize);
        _rows = new NativeBuffer<float>((long)maxTokens * config.HiddenSize);
        _x = new BoundTensor(config.HiddenSize);
        _nextView = new BoundTensor(config.HiddenSize);
        _q = new BoundTensor(config.QDim);
        _k = new BoundTensor(config.KvDim);
        _v = new BoundTensor(config.KvDim);
        _attended = new BoundTensor(config.QDim);
        _rowsView = new BoundTensor(config.HiddenSize);
        _logits = new BoundTensor(config.VocabSize);
    }

    public void PreAttention(int layer, float* x, int tokens, float* q, float* k, float* v)
    {
        _one[0] = _x.Bind(x, tokens);
        _three[0] = _q.Bind(q, tokens);
        _three[1] = _k.Bind(k, tokens);
        _three[2] = _v.Bind(v, tokens);
        _pre[layer].Run(_one, _three);
    }

    public void PostAttention(int layer, float* x, float* attended, int tokens)
    {
        _two[0] = _x.Bind(x, tokens);
        _two[1] = _attended.Bind(attended, tokens);
        _result[0] = _nextView.Bind(_next.Pointer, tokens);
        _post[layer].Run(_two, _result);

        // ONNX Runtime must not write an output over one of its inputs; copying the new residual back (tokens ×
        // hidden floats, 8 KB per decoded token) keeps the runner's single residual buffer.
        var count = (long)tokens * _config.HiddenSize;
        Buffer.MemoryCopy(_next.Pointer, x, count * sizeof(float), count * sizeof(float));
    }

    public void Head(float* x, ReadOnlySpan<int> rows, float* logits)
    {
        var dim = _config.HiddenSize;
        for (var r = 0; r < rows.Length; r++)
        {
            new ReadOnlySpan<float>(x + ((long)rows[r] * dim), dim).CopyTo(_rows.AsSpan((long)r * dim, dim));
        }

        _one[0] = _rowsView.Bind(_rows.Pointer, rows.Length);
        _result[0] = _logits.Bind(logits, rows.Length);
        _head.Run(_one, _result);
    }

    public void Dispose()
    {
        foreach (var segment in _pre.Concat(_post).Append(_head))
        {
            segment.Dispose();
        }

        foreach (var view in new[] { _x, _nextView, _q, _k, _v, _attended, _rowsView, _logits })
        {
            view.Dispose();
        }

        _next.Dispose();
        _rows.Dispose();
        _run.Dispose();
    }
}
