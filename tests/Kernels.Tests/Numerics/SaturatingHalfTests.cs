using CsCheck;
using Serving.Kernels.Numerics;

namespace Serving.Kernels.Tests.Numerics;

/// <summary>The vector fp32 → fp16 rounding gives the scalar conversion's bits for every kind of value: each fp16
/// value, the ties halfway between neighbours (rounded to even) and the floats just either side of them,
/// subnormals, zeros, values past ±65,504, infinities and NaN.</summary>
public sealed unsafe class SaturatingHalfTests
{
    [Fact]
    public void Every_half_its_ties_and_their_neighbours_round_like_the_scalar_conversion()
    {
        var values = new List<float> { 65504f, 65519.99f, 65520f, 70000f, 1e30f, float.PositiveInfinity, float.MaxValue, float.Epsilon, 1e-30f };
        for (var h = 0; h < 0x7C00; h++)
        {
            var value = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            var next = (float)BitConverter.UInt16BitsToHalf((ushort)(h + 1));
            var tie = (value + next) / 2;
            values.AddRange([value, tie, MathF.BitDecrement(tie), MathF.BitIncrement(tie)]);
        }

        values.AddRange(values.Select(v => -v).ToArray());
        AssertSameAsScalar(values.ToArray());
    }

    [Fact]
    public void Random_floats_and_row_lengths_round_like_the_scalar_conversion()
    {
        Gen.Float.Array[0, 70].Sample(AssertSameAsScalar, iter: 3000);
        Gen.Float[-70000f, 70000f].Array[0, 70].Sample(AssertSameAsScalar, iter: 3000);
        Gen.Float[-1e-4f, 1e-4f].Array[0, 70].Sample(AssertSameAsScalar, iter: 3000);
    }

    [Fact]
    public void A_nan_stays_nan_and_the_rest_of_its_row_is_still_rounded()
    {
        var values = Enumerable.Range(0, 40).Select(i => i * 0.37f).ToArray();
        values[5] = float.NaN;
        AssertSameAsScalar(values);
        var rounded = new ushort[values.Length];
        fixed (float* source = values)
        fixed (ushort* destination = rounded)
        {
            SaturatingHalf.Round(source, destination, values.Length);
        }

        Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf(rounded[5])));
        Assert.Equal((Half)(39 * 0.37f), BitConverter.UInt16BitsToHalf(rounded[39]));
    }

    [Fact]
    public void Saturates_instead_of_overflowing()
    {
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)65504f), SaturatingHalf.Round(1e9f));
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)(-65504f)), SaturatingHalf.Round(float.NegativeInfinity));
    }

    private static void AssertSameAsScalar(float[] values)
    {
        var rounded = new ushort[values.Length];
        fixed (float* source = values)
        fixed (ushort* destination = rounded)
        {
            SaturatingHalf.Round(source, destination, values.Length);
        }

        for (var i = 0; i < values.Length; i++)
        {
            var expected = SaturatingHalf.Round(values[i]);
            Assert.True(expected == rounded[i], $"{values[i]:R} (0x{BitConverter.SingleToUInt32Bits(values[i]):X8}): 0x{rounded[i]:X4}, expected 0x{expected:X4}");
        }
    }
}
