using CsCheck;
using Serving.Kernels.Cpu;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The int8 activations the Q4_0 and Q8_0 kernels read, against their definition written out here one value
/// at a time: per block of 32, scale = max |x| / 127, q = x · (127 / max) rounded to nearest even (0 for an
/// all-zero block), the block's integer sum and −8 × that sum. Rows of 1 to 70 blocks, quantized from a random first
/// token, with all-zero blocks, single non-zero values, exact ties and magnitudes from 1e-6 to 1e5.</summary>
public sealed unsafe class QuantizedActivationsTests
{
    [Fact]
    public void Blocks_match_the_definition()
    {
        var gen =
            from blocks in Gen.Int[1, 70]
            from tokens in Gen.Int[1, 3]
            from seed in Gen.Int
            select (blocks, tokens, seed);
        gen.Sample(
            c =>
            {
                var columns = c.blocks * 32;
                using var q = new QuantizedActivations(c.tokens, columns);
                using var x = new NativeBuffer<float>((long)c.tokens * columns);
                var random = new Random(c.seed);
                for (var b = 0; b < c.tokens * c.blocks; b++)
                {
                    Fill(x.Pointer + (b * 32), random);
                }

                var first = random.Next(c.tokens);
                q.Quantize(x.Pointer, first, c.tokens, columns);
                for (long b = (long)first * c.blocks; b < (long)c.tokens * c.blocks; b++)
                {
                    AssertBlock(x.Pointer + (b * 32), q, b);
                }
            },
            iter: 300);
    }

    private static void Fill(float* block, Random random)
    {
        switch (random.Next(5))
        {
            case 0:
                new Span<float>(block, 32).Clear();
                break;
            case 1:
                // One value; the rest zero (it quantizes to ±127).
                new Span<float>(block, 32).Clear();
                block[random.Next(32)] = (float)((random.NextDouble() * 2) - 1);
                break;
            case 2:
                // Maximum 127, so the values are not rescaled: halves are exact ties.
                for (var i = 0; i < 32; i++)
                {
                    block[i] = (random.Next(-254, 255) / 2f);
                }

                block[random.Next(32)] = random.Next(2) == 0 ? 127f : -127f;
                break;
            default:
                var magnitude = Math.Pow(10, random.Next(-6, 6));
                for (var i = 0; i < 32; i++)
                {
                    block[i] = (float)(((random.NextDouble() * 2) - 1) * magnitude);
                }

                break;
        }
    }

    private static void AssertBlock(float* x, QuantizedActivations q, long block)
    {
        var max = 0f;
        for (var i = 0; i < 32; i++)
        {
            max = MathF.Max(max, MathF.Abs(x[i]));
        }

        var inverse = max != 0 ? 127f / max : 0f;
        var sum = 0;
        for (var i = 0; i < 32; i++)
        {
            var expected = (int)MathF.Round(x[i] * inverse, MidpointRounding.ToEven);
            Assert.Equal(expected, q.Values[(block * 32) + i]);
            sum += expected;
        }

        Assert.Equal(BitConverter.SingleToInt32Bits(max / 127f), BitConverter.SingleToInt32Bits(q.Scales[block]));
        Assert.Equal(sum, q.Sums[block]);
        Assert.Equal(-8 * sum, q.NibbleOffsets[block]);
        Assert.Equal(-128 * sum, q.ByteOffsets[block]);
    }
}
