using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models;
using Serving.Kernels.Quantization;

namespace Serving.Kernels.Runner;

/// <summary>The kernels and small fp32 vectors (norm weights, biases) of one decoder layer, prepared once.</summary>
internal sealed unsafe class LayerKernels : IDisposable
{
    private readonly float[]? _queryBias;
    private readonly float[]? _keyBias;
    private readonly float[]? _valueBias;

    /// <param name="weights">The layer's stored weights.</param>
    /// <param name="arena">Where repacked matrices go; they are created in the order a step runs them.</param>
    public LayerKernels(LayerWeights weights, WeightArena? arena)
    {
        Query = MatMulKernels.For(weights.Query, arena);
        Key = MatMulKernels.For(weights.Key, arena);
        Value = MatMulKernels.For(weights.Value, arena);
        Output = MatMulKernels.For(weights.Output, arena);
        Gate = MatMulKernels.For(weights.Gate, arena);
        Up = MatMulKernels.For(weights.Up, arena);
        Down = MatMulKernels.For(weights.Down, arena);
        AttentionNorm = TensorReader.ReadAll(weights.AttentionNorm);
        FeedForwardNorm = TensorReader.ReadAll(weights.FeedForwardNorm);
        _queryBias = weights.QueryBias is null ? null : TensorReader.ReadAll(weights.QueryBias);
        _keyBias = weights.KeyBias is null ? null : TensorReader.ReadAll(weights.KeyBias);
        _valueBias = weights.ValueBias is null ? null : TensorReader.ReadAll(weights.ValueBias);
        QkvQuantized = Query.UsesQuantizedInput || Key.UsesQuantizedInput || Value.UsesQuantizedInput;
        GateUpQuantized = Gate.UsesQuantizedInput || Up.UsesQuantizedInput;
    }

    public IMatMulKernel Query { get; }

    public IMatMulKernel Key { get; }

    public IMatMulKernel Value { get; }

    public IMatMulKernel Output { get; }

    public IMatMulKernel Gate { get; }

    public IMatMulKernel Up { get; }

    public IMatMulKernel Down { get; }

    public float[] AttentionNorm { get; }

    public float[] FeedForwardNorm { get; }

    public bool QkvQuantized { get; }

    public bool GateUpQuantized { get; }

    public void Dispose()
    {
        foreach (var kernel in new[] { Query, Key, Value, Output, Gate, Up, Down })
        {
            (kernel as IDisposable)?.Dispose();
        }
    }

    public void AddBiases(float* q, float* k, float* v)
    {
        AddBias(q, _queryBias);
        AddBias(k, _keyBias);
        AddBias(v, _valueBias);
    }

    private static void AddBias(float* x, float[]? bias)
    {
        if (bias is null)
        {
            return;
        }

        fixed (float* b = bias)
        {
            VectorOps.Add(x, b, bias.Length);
        }
    }
}
