using CsCheck;
using Serving.Kernels.Cpu;
using Serving.Kernels.Models;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The vectorized rotation against the scalar formula, bit for bit: both pairings, head widths whose
/// rotated half is a multiple of the vector width or leaves a remainder, and partial rotary dimensions.</summary>
public sealed unsafe class RotaryEmbeddingTests
{
    [Theory]
    [InlineData(RopeLayout.Interleaved, 64, 0)]
    [InlineData(RopeLayout.Interleaved, 128, 0)]
    [InlineData(RopeLayout.Interleaved, 40, 0)]
    [InlineData(RopeLayout.Interleaved, 64, 48)]
    [InlineData(RopeLayout.HalfSplit, 64, 0)]
    [InlineData(RopeLayout.HalfSplit, 128, 0)]
    [InlineData(RopeLayout.HalfSplit, 40, 0)]
    [InlineData(RopeLayout.HalfSplit, 64, 48)]
    public void Rotation_equals_the_scalar_formula(RopeLayout layout, int headDim, int ropeDimensions)
    {
        const int heads = 3;
        var config = new ModelConfig
        {
            Architecture = "llama",
            HiddenSize = heads * headDim,
            IntermediateSize = 8,
            LayerCount = 1,
            HeadCount = heads,
            KvHeadCount = heads,
            HeadDim = headDim,
            VocabSize = 8,
            MaxPositions = 1 << 20,
            RopeLayout = layout,
            RopeDimensions = ropeDimensions,
        };
        var rope = new RotaryEmbedding(config);
        Gen.Select(Gen.Int[0, (1 << 20) - 1], Gen.Float[-1000f, 1000f].Array[heads * headDim]).Sample((position, values) =>
        {
            var cos = new float[rope.Half];
            var sin = new float[rope.Half];
            var actual = (float[])values.Clone();
            fixed (float* c = cos, s = sin, x = actual)
            {
                rope.Angles(position, c, s);
                rope.Apply(x, heads, c, s);
            }

            var expected = Scalar(values, heads, headDim, rope.Half, layout, cos, sin);
            for (var i = 0; i < expected.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                {
                    return false;
                }
            }

            return true;
        });
    }

    private static float[] Scalar(float[] values, int heads, int headDim, int half, RopeLayout layout, float[] cos, float[] sin)
    {
        var x = (float[])values.Clone();
        for (var h = 0; h < heads; h++)
        {
            var o = h * headDim;
            for (var j = 0; j < half; j++)
            {
                var (i0, i1) = layout == RopeLayout.Interleaved ? (o + (2 * j), o + (2 * j) + 1) : (o + j, o + j + half);
                float a = x[i0], b = x[i1];
                x[i0] = (a * cos[j]) - (b * sin[j]);
                x[i1] = (a * sin[j]) + (b * cos[j]);
            }
        }

        return x;
    }
}
