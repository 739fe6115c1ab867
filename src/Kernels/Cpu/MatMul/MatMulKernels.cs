using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Chooses the kernel for a weight matrix by its storage type. Quantized matrices are repacked into the
/// interleaved layout where the CPU and shape allow; the stored-layout kernels serve the rest.</summary>
internal static class MatMulKernels
{
    /// <param name="weight">The stored matrix.</param>
    /// <param name="arena">Where a repacked matrix goes (see <see cref="RepackedBytes"/>); null: an allocation of
    /// its own.</param>
    /// <exception cref="ArgumentException">An invalid <see cref="StreamPrefetch.Variable"/> setting.</exception>
    public static IMatMulKernel For(WeightTensor weight, WeightArena? arena = null)
    {
        StreamPrefetch.ThrowIfInvalid();
        return weight.Type switch
        {
            GgmlType.Q8_0 when InterleavedLayout.Supports(weight.Type, weight.Rows) => new Q8_0x8MatMul(weight, Q8_0x8MatMul.WideSupported, arena, AvxVnni.IsSupported),
            GgmlType.Q4_0 when InterleavedLayout.Supports(weight.Type, weight.Rows) => new Q4_0x8MatMul(weight, Q4_0x8MatMul.WideSupported, arena, AvxVnni.IsSupported),
            GgmlType.Q4_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => new AffineKQuantx8MatMul<Q4_KLayout>(weight, AffineKQuantx8MatMul<Q4_KLayout>.WideSupported, arena),
            GgmlType.Q5_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => new AffineKQuantx8MatMul<Q5_KLayout>(weight, AffineKQuantx8MatMul<Q5_KLayout>.WideSupported, arena),
            GgmlType.Q6_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => new Q6_Kx8MatMul(weight, Q6_Kx8MatMul.WideSupported, arena),
            _ => ForStoredLayout(weight),
        };
    }

    /// <summary>The bytes <see cref="For"/> allocates for <paramref name="weight"/>'s repacked copy; 0 where the
    /// kernel reads the weights where they are stored.</summary>
    public static long RepackedBytes(WeightTensor weight) => weight.Type switch
    {
        GgmlType.Q8_0 when InterleavedLayout.Supports(weight.Type, weight.Rows) => InterleavedMatMul.PackedBytes(weight, 32, InterleavedLayout.ScaleBytes + Q8_0x8MatMul.ValueBytesPerBlock),
        GgmlType.Q4_0 when InterleavedLayout.Supports(weight.Type, weight.Rows) => InterleavedMatMul.PackedBytes(weight, 32, InterleavedLayout.ScaleBytes + Q4_0x8MatMul.ValueBytesPerBlock),
        GgmlType.Q4_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => InterleavedMatMul.PackedBytes(weight, Q4_K.BlockSize, AffineKQuantx8MatMul<Q4_KLayout>.PackedGroupBlockBytes),
        GgmlType.Q5_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => InterleavedMatMul.PackedBytes(weight, Q5_K.BlockSize, AffineKQuantx8MatMul<Q5_KLayout>.PackedGroupBlockBytes),
        GgmlType.Q6_K when InterleavedLayout.Supports(weight.Type, weight.Rows) => InterleavedMatMul.PackedBytes(weight, Q6_K.BlockSize, Q6_Kx8MatMul.PackedGroupBlockBytes),
        _ => 0,
    };

    /// <summary>The kernel that reads the weights where they are stored, without repacking.</summary>
    public static IMatMulKernel ForStoredLayout(WeightTensor weight) => weight.Type switch
    {
        GgmlType.F32 => Float<F32RowLoader>(weight),
        GgmlType.F16 when HalfScan.HasNonFinite(weight) => Float<F16RowLoader>(weight),
        GgmlType.F16 => Float<F16FiniteRowLoader>(weight),
        GgmlType.BF16 => Float<BF16RowLoader>(weight),
        GgmlType.Q8_0 => new Q8_0MatMul(weight),
        GgmlType.Q4_0 => new Q4_0MatMul(weight),
        GgmlType.Q4_K => new AffineKQuantMatMul<Q4_KLayout>(weight),
        GgmlType.Q5_K => new AffineKQuantMatMul<Q5_KLayout>(weight),
        GgmlType.Q6_K => new Q6_KMatMul(weight),
        _ => throw new NotSupportedException($"tensor {weight.Name}: no matrix kernel for type {weight.Type}"),
    };

    /// <summary>The float kernel at the widest vector width the CPU runs natively.</summary>
    private static IMatMulKernel Float<TLoader>(WeightTensor weight)
        where TLoader : struct, IFloatRowLoader =>
        Vector512.IsHardwareAccelerated
            ? new FloatMatMul<TLoader, Avx512FloatTiles>(weight)
            : new FloatMatMul<TLoader, Avx2FloatTiles>(weight);
}
