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
    public void Finite_loader_converts_every_finite_half()
    {
        using var all = AllHalves();
        for (var i = 0; i < 65536; i += 16)
        {
            var wide = F16FiniteRowLoader.Load16((byte*)all.Pointer, i);
            for (var k = 0; k < 16; k++)
            {
                var half = BitConverter.UInt16BitsToHalf((ushort)(i + k));
                if (!Half.IsFinite(half))
                {
                    continue;
                }

                var narrow = F16FiniteRowLoader.Load8((byte*)all.Pointer, i + (k & ~7)).GetElement(k & 7);
                Assert.Equal(BitConverter.SingleToInt32Bits((float)half), BitConverter.SingleToInt32Bits(wide.GetElement(k)));
                Assert.Equal(BitConverter.SingleToInt32Bits((float)half), BitConverter.SingleToInt32Bits(narrow));
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
