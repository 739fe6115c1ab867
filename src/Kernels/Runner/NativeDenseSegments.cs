using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models;
using Serving.Kernels.Quantization;

namespace Serving.Kernels.Runner;

/// <summary>The dense segments on our own SIMD kernels: matrix products straight from the stored (or x8-repacked)
/// weights with int8 activations for quantized matrices, on the runner's worker pool.</summary>
internal sealed unsafe class NativeDenseSegments : IDenseSegments
{
    private readonly ModelConfig _config;
    private readonly WorkerPool _pool;
    private readonly WeightArena? _arena;
    private readonly LayerKernels[] _layers;
    private readonly IMatMulKernel _output;
    private readonly float[] _outputNorm;
    private readonly MatMulJob _matMul;
    private readonly TokenRowsJob _rows;
    private readonly QuantizedActivations _quantized;
    private readonly NativeBuffer<float> _normed;
    private readonly NativeBuffer<float> _projected;
    private readonly NativeBuffer<float> _gate;
    private readonly NativeBuffer<float> _up;

    public NativeDenseSegments(ModelConfig config, ModelWeights weights, WorkerPool pool, int maxTokens)
    {
        _config = config;
        _pool = pool;
        _matMul = new MatMulJob(pool.ThreadCount);
        _rows = new TokenRowsJob(pool.ThreadCount);
        _arena = CreateArena(weights);
        _layers = new LayerKernels[config.LayerCount];
        for (var i = 0; i < config.LayerCount; i++)
        {
            _layers[i] = new LayerKernels(weights.Layers[i], _arena);
        }

        _output = MatMulKernels.For(weights.Output, _arena);
        _outputNorm = TensorReader.ReadAll(weights.OutputNorm);
        long t = maxTokens;
        var widest = Math.Max(Math.Max(config.HiddenSize, config.QDim), config.IntermediateSize);
        _quantized = new QuantizedActivations(maxTokens, widest);
        _normed = new NativeBuffer<float>(t * config.HiddenSize);
        _projected = new NativeBuffer<float>(t * config.HiddenSize);
        _gate = new NativeBuffer<float>(t * config.IntermediateSize);
        _up = new NativeBuffer<float>(t * config.IntermediateSize);
    }

    public void PreAttention(int layer, float* x, int tokens, float* q, float* k, float* v)
    {
        var c = _config;
        var kernels = _layers[layer];
        var quantized = kernels.QkvQuantized ? _quantized : null;
        fixed (float* weight = kernels.AttentionNorm)
        {
            _rows.SetNorm(x, weight, _normed.Pointer, tokens, c.HiddenSize, c.RmsNormEps, quantized);
            _rows.Run(_pool);
        }

        _matMul.Set(new MatMulInput(_normed.Pointer, quantized, tokens, c.HiddenSize));
        _matMul.Add(kernels.Query, q);
        _matMul.Add(kernels.Key, k);
        _matMul.Add(kernels.Value, v);
        _pool.Run(_matMul);
        for (var t = 0; t < tokens; t++)
        {
            kernels.AddBiases(q + ((long)t * c.QDim), k + ((long)t * c.KvDim), v + ((long)t * c.KvDim));
        }
    }

    public void PostAttention(int layer, float* x, float* attended, int tokens)
    {
        var c = _config;
        var kernels = _layers[layer];
        _matMul.Set(Prepare(attended, tokens, c.QDim, kernels.Output.UsesQuantizedInput));
        _matMul.Add(kernels.Output, _projected.Pointer);
        _pool.Run(_matMul);

        var gateUpInput = kernels.GateUpQuantized ? _quantized : null;
        fixed (float* weight = kernels.FeedForwardNorm)
        {
            _rows.SetResidualNorm(x, _projected.Pointer, weight, _normed.Pointer, tokens, c.HiddenSize, c.RmsNormEps, gateUpInput);
            _rows.Run(_pool);
        }

        _matMul.Set(new MatMulInput(_normed.Pointer, gateUpInput, tokens, c.HiddenSize));
        _matMul.Add(kernels.Gate, _gate.Pointer);
        _matMul.Add(kernels.Up, _up.Pointer);
        _pool.Run(_matMul);

        var downInput = kernels.Down.UsesQuantizedInput ? _quantized : null;
        _rows.SetSiluMultiply(_gate.Pointer, _up.Pointer, tokens, c.IntermediateSize, downInput);
        _rows.Run(_pool);

        _matMul.Set(new MatMulInput(_gate.Pointer, downInput, tokens, c.IntermediateSize));
        _matMul.Add(kernels.Down, _projected.Pointer);
        _pool.Run(_matMul);
        VectorOps.Add(x, _projected.Pointer, tokens * c.HiddenSize);
    }

    public void Head(float* x, ReadOnlySpan<int> rows, float* logits)
    {
        var dim = _config.HiddenSize;
        fixed (float* w = _outputNorm)
        {
            for (var r = 0; r < rows.Length; r++)
            {
                VectorOps.RmsNorm(x + ((long)rows[r] * dim), w, _normed.Pointer + ((long)r * dim), dim, _config.RmsNormEps);
            }
        }

        _matMul.Set(Prepare(_normed.Pointer, rows.Length, dim, _output.UsesQuantizedInput));
        _matMul.Add(_output, logits);
        _pool.Run(_matMul);
    }

    public void Dispose()
    {
        foreach (var layer in _layers)
        {
            layer.Dispose();
        }

        (_output as IDisposable)?.Dispose();
        _arena?.Dispose();
        _quantized.Dispose();
        foreach (var buffer in new[] { _normed, _projected, _gate, _up })
        {
            buffer.Dispose();
        }
    }

    /// <summary>One arena for every matrix that is repacked (none for float models, whose kernels read the weights
    /// where they are stored).</summary>
    private static WeightArena? CreateArena(ModelWeights weights)
    {
        long capacity = 0;
        foreach (var layer in weights.Layers)
        {
            foreach (var matrix in layer.Matrices)
            {
                capacity += WeightArena.SpaceFor(MatMulKernels.RepackedBytes(matrix));
            }
        }

        capacity += WeightArena.SpaceFor(MatMulKernels.RepackedBytes(weights.Output));
        return capacity == 0 ? null : new WeightArena(capacity);
    }

    private MatMulInput Prepare(float* x, int tokens, int columns, bool quantize)
    {
        if (quantize)
        {
            _rows.SetQuantize(x, tokens, columns, _quantized);
            _rows.Run(_pool);
        }

        return new MatMulInput(x, quantize ? _quantized : null, tokens, columns);
    }
}
