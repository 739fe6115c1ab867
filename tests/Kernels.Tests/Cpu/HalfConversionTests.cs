using System.Runtime.Intrinsics;
using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The integer-only fp16 widening against .NET's own conversion, over every one of the 65,536 bit
/// patterns (8- and 16-wide paths), and the scan that decides which conversion a tensor may use.</summary>
public sealed unsafe class HalfConversionTests
{
    [Fact]
    public void Exact_loader_converts_every_half()
    {
        using var all = AllHalves();
        for (var i = 0; i < 65536; i += 16)
        {
            var wide = F16RowLoader.Load16((byte*)all.Pointer, i);
            for (var k = 0; k < 16; k++)
            {
                var expected = (float)BitConverter.UInt16BitsToHalf((ushort)(i + k));
                var narrow = F16RowLoader.Load8((byte*)all.Pointer, i + (k & ~7)).GetElement(k & 7);
                AssertSame(expected, wide.GetElement(k));
                AssertSame(expected, narrow);
            }
        }
    }

    [Fact]
    public void Finite_loader_converts_every_finite_half() => AssertEveryFiniteHalf<F16FiniteRowLoader>(1f);

    /// <summary>Multiplying back by 2^112 is exact, so this checks the loaded values bit for bit.</summary>
    [Fact]
    public void Scaled_down_loader_gives_every_finite_half_times_two_to_the_minus_112() =>
        AssertEveryFiniteHalf<F16ScaledDownRowLoader>(F16ScaledDownRowLoader.Compensation);

    /// <summary>Scaling up is refused for any element whose product could overflow or that is not finite, whether it
    /// falls in the vector part or the tail.</summary>
    [Theory]
    [InlineData(3, 1f, true)]
    [InlineData(3, -65503.99f, true)]
    [InlineData(3, 65504f, false)]
    [InlineData(35, -1e30f, false)]
    [InlineData(35, float.NaN, false)]
    [InlineData(12, float.PositiveInfinity, false)]
    public void Scaling_up_refuses_what_would_overflow(int index, float value, bool accepted)
    {
        const int n = 37;
        using var source = new NativeBuffer<float>(n);
        using var scaled = new NativeBuffer<float>(n);
        for (var i = 0; i < n; i++)
        {
            source.Pointer[i] = MathF.Sin(i) * 100;
        }

        source.Pointer[index] = value;
        Assert.Equal(accepted, F16ScaledDownRowLoader.TryScaleUp(source.Pointer, scaled.Pointer, n));
        if (accepted)
        {
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(source.Pointer[i], scaled.Pointer[i] / F16ScaledDownRowLoader.Compensation);
            }
        }
    }

    [Fact]
    public void Tensors_with_infinities_keep_the_exact_kernel()
    {
        using var data = new NativeBuffer<ushort>(64 * 32);
        for (var i = 0; i < 64 * 32; i++)
        {
            data.Pointer[i] = BitConverter.HalfToUInt16Bits((Half)(i % 7 * 0.25f));
        }

        var tensor = new WeightTensor("w", GgmlType.F16, [64, 32], (nint)data.Pointer, 64 * 32 * 2);
        Assert.False(HalfScan.HasNonFinite(tensor));
        Assert.Equal(typeof(F16FiniteRowLoader), MatMulKernels.For(tensor).GetType().GetGenericArguments()[0]);

        data.Pointer[64 * 32 - 1] = BitConverter.HalfToUInt16Bits(Half.PositiveInfinity);
        Assert.True(HalfScan.HasNonFinite(tensor));
        var kernel = MatMulKernels.For(tensor);
        Assert.Equal(typeof(F16RowLoader), kernel.GetType().GetGenericArguments()[0]);

        using var x = new NativeBuffer<float>(32);
        for (var i = 0; i < 32; i++)
        {
            x.Pointer[i] = 1f;
        }

        using var y = new NativeBuffer<float>(64);
        kernel.Compute(new MatMulInput(x.Pointer, null, 1, 32), y.Pointer, 64, 0, 64);
        Assert.Equal(float.PositiveInfinity, y.Pointer[63]);
        Assert.True(float.IsFinite(y.Pointer[62]));
    }

    /// <summary>Every finite half through the 16-wide, 8-wide and single-value paths of a loader, times
    /// <paramref name="scaleBack"/>, against .NET's conversion bit for bit.</summary>
    private static void AssertEveryFiniteHalf<TLoader>(float scaleBack)
        where TLoader : struct, IFloatRowLoader
    {
        using var all = AllHalves();
        for (var i = 0; i < 65536; i += 16)
        {
            var wide = TLoader.Load16((byte*)all.Pointer, i);
            for (var k = 0; k < 16; k++)
            {
                var half = BitConverter.UInt16BitsToHalf((ushort)(i + k));
                if (!Half.IsFinite(half))
                {
                    continue;
                }

                var expected = BitConverter.SingleToInt32Bits((float)half);
                var narrow = TLoader.Load8((byte*)all.Pointer, i + (k & ~7)).GetElement(k & 7);
                Assert.Equal(expected, BitConverter.SingleToInt32Bits(wide.GetElement(k) * scaleBack));
                Assert.Equal(expected, BitConverter.SingleToInt32Bits(narrow * scaleBack));
                Assert.Equal(expected, BitConverter.SingleToInt32Bits(TLoader.Load1((byte*)all.Pointer, i + k) * scaleBack));
            }
        }
    }

    private static NativeBuffer<ushort> AllHalves()
    {
        var all = new NativeBuffer<ushort>(65536);
        for (var i = 0; i < 65536; i++)
        {
            all.Pointer[i] = (ushort)i;
        }

        return all;
    }

    /// <summary>Bit-identical, except that NaN payloads may differ between conversions: only NaN-ness matters.</summary>
    private static void AssertSame(float expected, float actual)
    {
        if (float.IsNaN(expected))
        {
            Assert.True(float.IsNaN(actual));
            return;
        }

        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
    }
}
