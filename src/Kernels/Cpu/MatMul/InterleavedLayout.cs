using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Geometry of the interleaved ("x8") weight layouts that the fast integer kernels use. Eight consecutive rows form a
/// group; for each block of 32 columns a group stores the eight fp16 scales, then its quantized values arranged so
/// that one 256-bit load holds four consecutive columns of each of the eight rows. One vpdpbusd against four
/// broadcast activation bytes then advances all eight rows' dot products at once, the int32 lanes are the eight
/// rows, and each block's scaling is one fused multiply-add for eight outputs instead of eight. Results come out as
/// eight adjacent floats, stored with one vector store. The byte count equals the stored GGUF layout's.
/// </summary>
internal static class InterleavedLayout
{
    public const int Rows = 8;

    public const int ScaleBytes = Rows * sizeof(ushort);

    /// <summary>Whether this CPU runs the interleaved kernels of <paramref name="type"/> (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K): AVX2
    /// and FMA. Where the CPU has no AVX-VNNI (vpdpbusd adds byte products straight into int32), Q4_0's sum products in
    /// 16-bit lanes, which 4-bit weights cannot overflow, and Q8_0's keep their weights signed and move the sign onto
    /// the activations (<see cref="SignedProducts"/>). (.NET exposes no EVEX-only AVX512-VNNI, so CPUs with that but
    /// not AVX-VNNI, such as AMD Zen 4 and Intel Ice Lake, count as having none.)</summary>
    public static bool CpuSupports(GgmlType type) => type is GgmlType.Q4_0 or GgmlType.Q8_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K && IntegerDot.IsSupported;

    /// <summary>Whether a matrix of <paramref name="type"/> can be repacked: whole row groups on a CPU that runs the
    /// type's kernels.</summary>
    public static bool Supports(GgmlType type, long rows) => rows % Rows == 0 && CpuSupports(type);
}
