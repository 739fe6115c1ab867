namespace Serving.Kernels.Quantization;

/// <summary>
/// The 12-byte field of Q4_K and Q5_K super-blocks that holds eight 6-bit scales and eight 6-bit minimums, one of
/// each per sub-block of 32 weights. Bytes 0–3 hold scales 0–3 and bytes 4–7 minimums 0–3 in their low six bits;
/// bytes 8–11 hold the low four bits of scales 4–7 (low nibble) and minimums 4–7 (high nibble), whose top two bits
/// sit in the top two bits of bytes 0–3 (scales) and 4–7 (minimums).
/// </summary>
public static class KQuantScales
{
    /// <summary>Bytes of the packed field.</summary>
    public const int PackedBytes = 12;

    /// <summary>Sub-blocks (and so scales and minimums) per super-block.</summary>
    public const int SubBlocks = 8;

    /// <summary>The fp16 value nearest <paramref name="largest"/> / <paramref name="levels"/> whose multiples still reach
    /// <paramref name="largest"/> within <paramref name="levels"/> steps after rounding: where fp16 rounds the unit
    /// toward zero (coarsely, for small subnormal units), the largest sub-block value would otherwise clamp.</summary>
    public static Half Unit(float largest, int levels)
    {
        var unit = (Half)(largest / levels);
        while (unit != Half.Zero && MathF.Abs(largest / (float)unit) > Math.Abs(levels) + 0.5f)
        {
            unit = (float)unit > 0 ? Half.BitIncrement(unit) : Half.BitDecrement(unit);
        }

        return unit;
    }

    /// <summary>Writes the eight scales to <paramref name="scales"/>[0..8) and the eight minimums to
    /// <paramref name="minimums"/>[0..8).</summary>
    public static void Unpack(ReadOnlySpan<byte> packed, Span<byte> scales, Span<byte> minimums)
    {
        for (var j = 0; j < 4; j++)
        {
            scales[j] = (byte)(packed[j] & 63);
            minimums[j] = (byte)(packed[j + 4] & 63);
            scales[j + 4] = (byte)((packed[j + 8] & 0xF) | ((packed[j] >> 6) << 4));
            minimums[j + 4] = (byte)((packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4));
        }
    }

    /// <summary>The inverse of <see cref="Unpack"/>; every value must be below 64.</summary>
    public static void Pack(ReadOnlySpan<byte> scales, ReadOnlySpan<byte> minimums, Span<byte> packed)
    {
        for (var j = 0; j < 4; j++)
        {
            packed[j] = (byte)(scales[j] | ((scales[j + 4] >> 4) << 6));
            packed[j + 4] = (byte)(minimums[j] | ((minimums[j + 4] >> 4) << 6));
            packed[j + 8] = (byte)((scales[j + 4] & 0xF) | ((minimums[j + 4] & 0xF) << 4));
        }
    }
}
