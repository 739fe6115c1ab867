using System.Runtime.Intrinsics;
using CsCheck;
using Serving.Kernels.Numerics;

namespace Serving.Kernels.Tests.Numerics;

/// <summary>The single-precision exponential of attention's softmax: accuracy against <see cref="MathF.Exp"/>, and
/// the same bits from every vector width so a score's weight does not depend on where in a row it lies.</summary>
public sealed class VectorExpTests
{
    [Fact]
    public void Within_two_ulp_of_MathF_Exp_over_the_range()
    {
        Gen.Float[-87f, 88f].Sample(x =>
        {
            var expected = MathF.Exp(x);
            var actual = VectorExp.Exp(x);
            var ulps = Math.Abs(BitConverter.SingleToInt32Bits(actual) - BitConverter.SingleToInt32Bits(expected));
            Assert.True(ulps <= 2, $"e^{x:R}: {actual:R} is {ulps} ulp from {expected:R}");
        }, iter: 200_000);
    }

    [Fact]
    public void Every_width_gives_the_same_bits()
    {
        Gen.Float[-90f, 90f].Array[16].Sample(values =>
        {
            var wide = VectorExp.Exp(Vector512.Create(values));
            var narrow = VectorExp.Exp(Vector256.Create(values.AsSpan(8)));
            for (var i = 0; i < 16; i++)
            {
                var scalar = VectorExp.Exp(values[i]);
                Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(wide.GetElement(i)));
                if (i >= 8)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(narrow.GetElement(i - 8)));
                }
            }
        });
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(1f, 2.71828183f)]
    [InlineData(-1000f, 1.64581143e-38f)]
    [InlineData(float.NegativeInfinity, 1.64581143e-38f)]
    public void Known_values_and_the_clamp_below(float x, float expected) =>
        Assert.Equal(expected, VectorExp.Exp(x), 1e-6f * expected);
}
