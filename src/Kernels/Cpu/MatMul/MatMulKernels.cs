using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Chooses the kernel for a weight matrix by its storage type.</summary>
internal static class MatMulKernels
{
    public static IMatMulKernel For(WeightTensor weight) => weight.Type switch
    {
        GgmlType.F32 => new FloatMatMul<F32RowLoader>(weight),
        GgmlType.F16 => new FloatMatMul<F16RowLoader>(weight),
        GgmlType.BF16 => new FloatMatMul<BF16RowLoader>(weight),
        GgmlType.Q8_0 => new Q8_0MatMul(weight),
        GgmlType.Q4_0 => new Q4_0MatMul(weight),
        _ => throw new NotSupportedException($"tensor {weight.Name}: no matrix kernel for type {weight.Type}"),
    };
}
