using System.Diagnostics.CodeAnalysis;

namespace Serving.Kernels.Quantization;

/// <summary>
/// GGUF Q4_K: super-blocks of 256 weights in 144 bytes: fp16 d, fp16 dmin, the 12-byte <see cref="KQuantScales"/>
/// field, then 128 bytes of nibbles. Sub-blocks 2i and 2i+1 are the low and high nibbles of bytes 32i..32i+31;
/// w = d·sc·q − dmin·m with the sub-block's 6-bit scale sc and minimum m.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
public static class Q4_K
{
    /// <summary>Weights per super-block.</summary>
    public const int BlockSize = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int BlockBytes = 144;

    /// <summary>Offset of the nibbles in a super-block.</summary>
    public const int QuantsOffset = 4 + KQuantScales.PackedBytes;

    /// <summary>Quantizes <paramref name="source"/> (a multiple of 256 values): each sub-block's range is split into
    /// 15 steps from its minimum (or zero) to its maximum, rounded to nearest.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination) =>
        AffineSubBlocks.Encode(source, destination, fifthBits: false);

    /// <summary>Expands super-blocks back to floats with llama.cpp's operations (d·sc and dmin·m first, in fp32).</summary>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination) =>
        AffineSubBlocks.Decode(source, destination, fifthBits: false);
}
