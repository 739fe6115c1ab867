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

    /// <summary>Whether this CPU runs the interleaved kernels: they need AVX-VNNI's vpdpbusd, which adds byte
    /// products straight into int32. AVX2's pmaddubsw step saturates at 16 bits, which Q8_0's offset-binary values
    /// and Q4_0's in-place high nibbles (up to 240) would overflow. (.NET exposes no EVEX-only AVX512-VNNI, so
    /// CPUs with that but not AVX-VNNI, such as AMD Zen 4 and Intel Ice Lake, use the stored-layout kernels.)</summary>
    public static bool CpuSupported => System.Runtime.Intrinsics.X86.AvxVnni.IsSupported && IntegerDot.IsSupported;

    /// <summary>Whether a matrix can be repacked: whole row groups on a CPU that runs the kernels.</summary>
    public static bool Supports(long rows) => rows % Rows == 0 && CpuSupported;
}
