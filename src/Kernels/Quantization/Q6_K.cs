using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Serving.Kernels.Quantization;

/// <summary>
/// GGUF Q6_K: super-blocks of 256 weights in 210 bytes: 128 bytes of low nibbles, 64 bytes of high bit pairs, 16
/// signed 8-bit scales (one per 16 weights), then fp16 d; w = d·sc·(q − 32) with q in 0..63. Each half of 128
/// weights uses 64 nibble bytes and 32 bit-pair bytes: weight l (l below 32) and weights l+32, l+64 and l+96 take
/// the low nibble of byte l, the low nibble of byte l+32, the high nibble of byte l and the high nibble of byte
/// l+32, with bit pairs 0, 1, 2 and 3 of bit-pair byte l.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
public static class Q6_K
{
    /// <summary>Weights per super-block.</summary>
    public const int BlockSize = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int BlockBytes = 210;

    /// <summary>Offset of the high bit pairs in a super-block.</summary>
    public const int HighBitsOffset = 128;

    /// <summary>Offset of the sixteen scales in a super-block.</summary>
    public const int ScalesOffset = 192;

    /// <summary>Offset of the fp16 super-block scale.</summary>
    public const int ScaleOffset = 208;

    /// <summary>Quantizes <paramref name="source"/> (a multiple of 256 values): in each group of 16 the value of
    /// largest magnitude maps to −32, and the groups' scales are 8-bit multiples of the super-block's d.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination)
    {
        Span<float> groupScales = stackalloc float[16];
        Span<byte> levels = stackalloc byte[BlockSize];
        for (var b = 0; b < source.Length / BlockSize; b++)
        {
            var x = source.Slice(b * BlockSize, BlockSize);
            var block = destination.Slice(b * BlockBytes, BlockBytes);
            var largest = 0f;
            for (var g = 0; g < 16; g++)
            {
                var max = 0f;
                foreach (var v in x.Slice(16 * g, 16))
                {
                    max = MathF.Abs(v) > MathF.Abs(max) ? v : max;
                }

                groupScales[g] = max / -32f;
                largest = MathF.Abs(groupScales[g]) > MathF.Abs(largest) ? groupScales[g] : largest;
            }

            var d = (float)KQuantScales.Unit(largest, -128);
            MemoryMarshal.Write(block[ScaleOffset..], BitConverter.HalfToUInt16Bits((Half)d));
            for (var g = 0; g < 16; g++)
            {
                var sc = d == 0 ? 0 : Math.Clamp((int)MathF.Round(groupScales[g] / d), -128, 127);
                block[ScalesOffset + g] = (byte)(sbyte)sc;
                var step = d * sc;
                var inverse = step != 0 ? 1f / step : 0f;
                for (var i = 0; i < 16; i++)
                {
                    var q = (int)MathF.Round(x[(16 * g) + i] * inverse);
                    levels[(16 * g) + i] = (byte)(Math.Clamp(q, -32, 31) + 32);
                }
            }

            for (var half = 0; half < 2; half++)
            {
                var ql = block.Slice(64 * half, 64);
                var qh = block.Slice(HighBitsOffset + (32 * half), 32);
                var q = levels.Slice(128 * half, 128);
                for (var l = 0; l < 32; l++)
                {
                    ql[l] = (byte)((q[l] & 0xF) | ((q[l + 64] & 0xF) << 4));
                    ql[l + 32] = (byte)((q[l + 32] & 0xF) | ((q[l + 96] & 0xF) << 4));
                    qh[l] = (byte)((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
                }
            }
        }
    }

    /// <summary>Expands super-blocks back to floats with llama.cpp's operations ((d·sc)·(q − 32) in fp32).</summary>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (var b = 0; b < destination.Length / BlockSize; b++)
        {
            var block = source.Slice(b * BlockBytes, BlockBytes);
            var d = (float)BitConverter.UInt16BitsToHalf(MemoryMarshal.Read<ushort>(block[ScaleOffset..]));
            for (var half = 0; half < 2; half++)
            {
                var ql = block.Slice(64 * half, 64);
                var qh = block.Slice(HighBitsOffset + (32 * half), 32);
                var sc = MemoryMarshal.Cast<byte, sbyte>(block.Slice(ScalesOffset + (8 * half), 8));
                var y = destination.Slice((b * BlockSize) + (128 * half), 128);
                for (var l = 0; l < 32; l++)
                {
                    var g = l / 16;
                    y[l] = d * sc[g] * (((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
                    y[l + 32] = d * sc[g + 2] * (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    y[l + 64] = d * sc[g + 4] * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    y[l + 96] = d * sc[g + 6] * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
            }
        }
    }
}
