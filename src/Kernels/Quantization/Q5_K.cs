using System.Diagnostics.CodeAnalysis;

namespace Serving.Kernels.Quantization;

/// <summary>
/// GGUF Q5_K: super-blocks of 256 weights in 176 bytes: fp16 d, fp16 dmin, the 12-byte <see cref="KQuantScales"/>
/// field, 32 bytes of fifth bits, then 128 bytes of nibbles laid out as in <see cref="Q4_K"/>. Bit s of byte l of
/// the fifth bits is the high bit of weight l of sub-block s; w = d·sc·q − dmin·m with q in 0..31.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
public static class Q5_K
{
    /// <summary>Weights per super-block.</summary>
    public const int BlockSize = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int BlockBytes = 176;

    /// <summary>Offset of the fifth bits in a super-block.</summary>
    public const int HighBitsOffset = 4 + KQuantScales.PackedBytes;

    /// <summary>Offset of the nibbles in a super-block.</summary>
    public const int QuantsOffset = HighBitsOffset + 32;

    /// <summary>Quantizes <paramref name="source"/> (a multiple of 256 values) like <see cref="Q4_K"/> with 31
    /// steps per sub-block.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination) =>
        AffineSubBlocks.Encode(source, destination, fifthBits: true);

    /// <summary>Expands super-blocks back to floats with llama.cpp's operations (d·sc and dmin·m first, in fp32).</summary>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination) =>
        AffineSubBlocks.Decode(source, destination, fifthBits: true);
}
