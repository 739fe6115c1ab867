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

    /// <summary>Whether a matrix can be repacked: whole row groups and an integer-dot CPU. AVX2 without VNNI
    /// emulates vpdpbusd with a saturating 16-bit step, which the offset-binary Q8 values would overflow.</summary>
    public static bool Supports(long rows) => rows % Rows == 0 && System.Runtime.Intrinsics.X86.AvxVnni.IsSupported && IntegerDot.IsSupported;
}
