using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>y = x·Wᵀ for one stored weight matrix <c>[rows, columns]</c>, reading the weights in their stored
/// layout. Rows can be split across threads: each call computes a range of output rows for every token.</summary>
internal unsafe interface IMatMulKernel
{
    WeightTensor Weight { get; }

    int Rows { get; }

    /// <summary>Whether the kernel consumes <see cref="MatMulInput.Quantized"/> rather than fp32 values.</summary>
    bool UsesQuantizedInput { get; }

    /// <summary>Writes <c>y[t * ldy + r]</c> for r in [<paramref name="rowStart"/>, <paramref name="rowEnd"/>).</summary>
    void Compute(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd);
}
