using System.Runtime.InteropServices;

namespace Serving.Kernels.Quantization;

/// <summary>
/// What Q4_K and Q5_K share: each sub-block of 32 weights holds levels 0..15 (or 0..31) with w = d·sc·q − dmin·m,
/// where the sub-block's scale sc and minimum m are 6-bit integers relative to the super-block's fp16 d and dmin,
/// and the levels' low nibbles (and Q5_K's fifth bits) are laid out the same way. The quantizer never puts a
/// minimum above zero (m is unsigned), as in llama.cpp's files.
/// </summary>
internal static class AffineSubBlocks
{
    public const int SubBlock = 32;

    /// <summary>Quantizes one super-block of 256 values: writes the fp16 bits of d and dmin, the 6-bit scales and
    /// minimums, and one level per value.</summary>
    public static void Quantize(
        ReadOnlySpan<float> x, int maxLevel, out ushort d, out ushort dmin, Span<byte> scales, Span<byte> minimums, Span<byte> levels)
    {
        Span<float> subScales = stackalloc float[KQuantScales.SubBlocks];
        Span<float> subMinimums = stackalloc float[KQuantScales.SubBlocks];
        var maxScale = 0f;
        var maxMinimum = 0f;
        for (var j = 0; j < KQuantScales.SubBlocks; j++)
        {
            var values = x.Slice(j * SubBlock, SubBlock);
            var low = 0f;
            var high = float.MinValue;
            foreach (var v in values)
            {
                low = MathF.Min(low, v);
                high = MathF.Max(high, v);
            }

            subScales[j] = (high - low) / maxLevel;
            subMinimums[j] = -low;
            maxScale = MathF.Max(maxScale, subScales[j]);
            maxMinimum = MathF.Max(maxMinimum, subMinimums[j]);
        }

        var superScale = (float)KQuantScales.Unit(maxScale, 63);
        var superMinimum = (float)KQuantScales.Unit(maxMinimum, 63);
        d = BitConverter.HalfToUInt16Bits((Half)superScale);
        dmin = BitConverter.HalfToUInt16Bits((Half)superMinimum);
        for (var j = 0; j < KQuantScales.SubBlocks; j++)
        {
            scales[j] = Level(subScales[j], superScale, 63);
            minimums[j] = Level(subMinimums[j], superMinimum, 63);
            var step = superScale * scales[j];
            var offset = superMinimum * minimums[j];
            var inverse = step != 0 ? 1f / step : 0f;
            for (var i = 0; i < SubBlock; i++)
            {
                var q = (int)MathF.Round((x[(j * SubBlock) + i] + offset) * inverse);
                levels[(j * SubBlock) + i] = (byte)Math.Clamp(q, 0, maxLevel);
            }
        }
    }

    /// <summary>Quantizes whole super-blocks into Q4_K (<paramref name="fifthBits"/> false) or Q5_K.</summary>
    public static void Encode(ReadOnlySpan<float> source, Span<byte> destination, bool fifthBits)
    {
        var (blockBytes, quantsOffset) = fifthBits ? (Q5_K.BlockBytes, Q5_K.QuantsOffset) : (Q4_K.BlockBytes, Q4_K.QuantsOffset);
        Span<byte> scales = stackalloc byte[KQuantScales.SubBlocks];
        Span<byte> minimums = stackalloc byte[KQuantScales.SubBlocks];
        Span<byte> levels = stackalloc byte[256];
        for (var b = 0; b < source.Length / 256; b++)
        {
            var block = destination.Slice(b * blockBytes, blockBytes);
            Quantize(source.Slice(b * 256, 256), fifthBits ? 31 : 15, out var d, out var dmin, scales, minimums, levels);
            MemoryMarshal.Write(block, d);
            MemoryMarshal.Write(block[2..], dmin);
            KQuantScales.Pack(scales, minimums, block.Slice(4, KQuantScales.PackedBytes));
            if (fifthBits)
            {
                block.Slice(Q5_K.HighBitsOffset, 32).Clear();
            }

            for (var i = 0; i < 4; i++)
            {
                for (var l = 0; l < 32; l++)
                {
                    var low = levels[(64 * i) + l];
                    var high = levels[(64 * i) + 32 + l];
                    block[quantsOffset + (32 * i) + l] = (byte)((low & 0xF) | ((high & 0xF) << 4));
                    if (fifthBits)
                    {
                        block[Q5_K.HighBitsOffset + l] |= (byte)(((low >> 4) << (2 * i)) | ((high >> 4) << ((2 * i) + 1)));
                    }
                }
            }
        }
    }

    /// <summary>Expands Q4_K (<paramref name="fifthBits"/> false) or Q5_K super-blocks with llama.cpp's operations:
    /// d·sc and dmin·m first, in fp32, then (d·sc)·q − dmin·m.</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<float> destination, bool fifthBits)
    {
        var (blockBytes, quantsOffset) = fifthBits ? (Q5_K.BlockBytes, Q5_K.QuantsOffset) : (Q4_K.BlockBytes, Q4_K.QuantsOffset);
        Span<byte> scales = stackalloc byte[KQuantScales.SubBlocks];
        Span<byte> minimums = stackalloc byte[KQuantScales.SubBlocks];
        for (var b = 0; b < destination.Length / 256; b++)
        {
            var block = source.Slice(b * blockBytes, blockBytes);
            var y = destination.Slice(b * 256, 256);
            var d = (float)BitConverter.UInt16BitsToHalf(MemoryMarshal.Read<ushort>(block));
            var dmin = (float)BitConverter.UInt16BitsToHalf(MemoryMarshal.Read<ushort>(block[2..]));
            KQuantScales.Unpack(block.Slice(4, KQuantScales.PackedBytes), scales, minimums);
            for (var j = 0; j < KQuantScales.SubBlocks; j++)
            {
                var step = d * scales[j];
                var offset = dmin * minimums[j];
                for (var l = 0; l < SubBlock; l++)
                {
                    var nibbles = block[quantsOffset + (32 * (j / 2)) + l];
                    var level = (j % 2 == 0 ? nibbles & 0xF : nibbles >> 4)
                        | (fifthBits ? ((block[Q5_K.HighBitsOffset + l] >> j) & 1) << 4 : 0);
                    y[(SubBlock * j) + l] = (step * level) - offset;
                }
            }
        }
    }

    private static byte Level(float value, float unit, int max) =>
        unit == 0 ? (byte)0 : (byte)Math.Clamp((int)MathF.Round(value / unit), 0, max);
}
