using CsCheck;
using Serving.Kernels.Cpu;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The SwiGLU activation: close to the float64 formula, and each element's result independent of where it
/// falls (512-bit, 256-bit or scalar part of the row).</summary>
public sealed unsafe class VectorOpsTests
{
    [Fact]
    public void Silu_multiply_matches_float64_and_does_not_depend_on_the_position()
    {
        Gen.Float[-30f, 30f].Array[1, 60].Select(Gen.Float[-4f, 4f].Array[60]).Sample(
            pair =>
            {
                var (gate, up) = pair;
                var n = gate.Length;
                var row = (float[])gate.Clone();
                fixed (float* g = row)
                fixed (float* u = up)
                {
                    VectorOps.SiluMultiply(g, u, n);
                }

                for (var i = 0; i < n; i++)
                {
                    var alone = new[] { gate[i] };
                    var upAlone = new[] { up[i] };
                    fixed (float* g = alone)
                    fixed (float* u = upAlone)
                    {
                        VectorOps.SiluMultiply(g, u, 1);
                    }

                    Assert.Equal(BitConverter.SingleToInt32Bits(alone[0]), BitConverter.SingleToInt32Bits(row[i]));
                    var expected = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                    Assert.True(Math.Abs(row[i] - expected) <= (1e-6 * Math.Abs(expected)) + 1e-30, $"silu({gate[i]}) · {up[i]}: {row[i]} vs {expected}");
                }
            },
            iter: 300);
    }

    [Fact]
    public void Silu_multiply_saturates_without_overflow_and_keeps_nan()
    {
        var gate = new[] { 200f, -200f, float.NaN, 0f };
        var up = new[] { 2f, 2f, 1f, 5f };
        fixed (float* g = gate)
        fixed (float* u = up)
        {
            VectorOps.SiluMultiply(g, u, gate.Length);
        }

        Assert.Equal(400f, gate[0]);
        Assert.True(gate[1] <= 0 && gate[1] > -1e-30f, $"{gate[1]}");
        Assert.True(float.IsNaN(gate[2]));
        Assert.Equal(0f, gate[3]);
    }
}
