using System.Runtime.InteropServices;
using CsCheck;
using Serving.Kernels.Quantization;

namespace Serving.Kernels.Tests.Quantization;

/// <summary>The k-quant formats: blocks assembled bit by bit from their documented layout expand to
/// d·sc·q − dmin·m (Q4_K, Q5_K) and d·sc·(q − 32) (Q6_K) in llama.cpp's operation order, and the quantizers used
/// by <c>serving model create</c> stay within the error their bit widths allow.</summary>
public sealed class KQuantTests
{
    [Fact]
    public void Scale_field_packing_round_trips_every_six_bit_value() =>
        Gen.Byte[0, 63].Array[16].Sample(values =>
        {
            var packed = new byte[KQuantScales.PackedBytes];
            KQuantScales.Pack(values.AsSpan(0, 8), values.AsSpan(8, 8), packed);
            var scales = new byte[8];
            var minimums = new byte[8];
            KQuantScales.Unpack(packed, scales, minimums);
            Assert.Equal(values[..8], scales);
            Assert.Equal(values[8..], minimums);
        });

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Affine_blocks_expand_to_their_scales_minimums_and_levels(int bits)
    {
        var random = new Random(bits);
        var scales = Enumerable.Range(0, 8).Select(_ => (byte)random.Next(64)).ToArray();
        var minimums = Enumerable.Range(0, 8).Select(_ => (byte)random.Next(64)).ToArray();
        scales[5] = 63;
        minimums[6] = 48;
        var levels = Enumerable.Range(0, 256).Select(_ => (byte)random.Next(1 << bits)).ToArray();
        var (d, dmin) = ((Half)0.0123f, (Half)0.0071f);
        var block = new byte[bits == 4 ? Q4_K.BlockBytes : Q5_K.BlockBytes];
        MemoryMarshal.Write(block, BitConverter.HalfToUInt16Bits(d));
        MemoryMarshal.Write(block.AsSpan(2), BitConverter.HalfToUInt16Bits(dmin));

        // The scale field byte by byte: low six bits of scales and minimums 0-3 in bytes 0-7, their top two bits
        // carrying bits 4-5 of scales and minimums 4-7, whose low four bits share bytes 8-11.
        for (var j = 0; j < 4; j++)
        {
            block[4 + j] = (byte)(scales[j] | ((scales[j + 4] & 0x30) << 2));
            block[8 + j] = (byte)(minimums[j] | ((minimums[j + 4] & 0x30) << 2));
            block[12 + j] = (byte)((scales[j + 4] & 0x0F) | ((minimums[j + 4] & 0x0F) << 4));
        }

        var quants = bits == 4 ? Q4_K.QuantsOffset : Q5_K.QuantsOffset;
        for (var i = 0; i < 256; i++)
        {
            var (sub, l) = (i / 32, i % 32);
            var at = quants + (32 * (sub / 2)) + l;
            block[at] |= (byte)((levels[i] & 0x0F) << (sub % 2 == 0 ? 0 : 4));
            if (bits == 5)
            {
                block[Q5_K.HighBitsOffset + l] |= (byte)((levels[i] >> 4) << sub);
            }
        }

        var values = new float[256];
        if (bits == 4)
        {
            Q4_K.Dequantize(block, values);
        }
        else
        {
            Q5_K.Dequantize(block, values);
        }

        for (var i = 0; i < 256; i++)
        {
            var expected = ((float)d * scales[i / 32] * levels[i]) - ((float)dmin * minimums[i / 32]);
            Assert.Equal(expected, values[i]);
        }
    }

    [Fact]
    public void Q6_K_blocks_expand_to_their_scales_and_levels()
    {
        var random = new Random(6);
        var scales = Enumerable.Range(0, 16).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
        var levels = Enumerable.Range(0, 256).Select(_ => (byte)random.Next(64)).ToArray();
        var d = (Half)0.0031f;
        var block = new byte[Q6_K.BlockBytes];
        MemoryMarshal.Write(block.AsSpan(Q6_K.ScaleOffset), BitConverter.HalfToUInt16Bits(d));
        MemoryMarshal.Cast<sbyte, byte>(scales).CopyTo(block.AsSpan(Q6_K.ScalesOffset));

        // Within each half of 128: quarter k of 32 takes nibble bytes 0-31 (k = 0, 2) or 32-63 (k = 1, 3), low
        // nibbles for k below 2, and bit pair k of bit-pair bytes 0-31.
        for (var i = 0; i < 256; i++)
        {
            var (half, k, l) = (i / 128, i % 128 / 32, i % 32);
            block[(64 * half) + (32 * (k % 2)) + l] |= (byte)((levels[i] & 0x0F) << (k < 2 ? 0 : 4));
            block[Q6_K.HighBitsOffset + (32 * half) + l] |= (byte)((levels[i] >> 4) << (2 * k));
        }

        var values = new float[256];
        Q6_K.Dequantize(block, values);
        for (var i = 0; i < 256; i++)
        {
            Assert.Equal((float)d * scales[i / 16] * (levels[i] - 32), values[i]);
        }
    }

    /// <summary>Root-mean-square error of a quantize–dequantize round trip relative to the values' own RMS, on random
    /// super-blocks whose magnitudes vary by 10⁴ between blocks. Rounding to steps of a uniform range [−M, M] leaves
    /// an error of RMS step/√12 against the values' M/√3: 2/15·√3/√12 ≈ 6.7 % for 4-bit affine codes, 3.2 % for
    /// 5-bit ones and 1/32·√3/√12 ≈ 1.6 % for Q6_K's symmetric 6-bit code; the bounds add a fifth for the rounding
    /// of the 6- and 8-bit sub-block scales.</summary>
    [Theory]
    [InlineData(4, 0.08)]
    [InlineData(5, 0.04)]
    [InlineData(6, 0.02)]
    public void Round_trips_stay_within_their_bit_width(int bits, double bound) =>
        Gen.Int[0, 1000].Sample(seed =>
        {
            var random = new Random(seed);
            var values = new float[4 * 256];
            for (var b = 0; b < 4; b++)
            {
                var magnitude = MathF.Pow(10, random.Next(-3, 2));
                var shift = (float)random.NextDouble() * magnitude * (b % 2);
                for (var i = 0; i < 256; i++)
                {
                    values[(256 * b) + i] = ((float)((random.NextDouble() * 2) - 1) * magnitude) + shift;
                }
            }

            var expanded = RoundTrip(bits, values);
            for (var b = 0; b < 4; b++)
            {
                double error = 0, energy = 0;
                for (var i = 256 * b; i < 256 * (b + 1); i++)
                {
                    error += Math.Pow(expanded[i] - values[i], 2);
                    energy += Math.Pow(values[i], 2);
                }

                Assert.True(Math.Sqrt(error / energy) <= bound, $"block {b}: relative RMS error {Math.Sqrt(error / energy):E3}");
            }
        });

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Zero_blocks_stay_zero(int bits) =>
        Assert.All(RoundTrip(bits, new float[256]), v => Assert.Equal(0f, v));

    private static float[] RoundTrip(int bits, float[] values)
    {
        var expanded = new float[values.Length];
        switch (bits)
        {
            case 4:
                var q4 = new byte[values.Length / 256 * Q4_K.BlockBytes];
                Q4_K.Quantize(values, q4);
                Q4_K.Dequantize(q4, expanded);
                break;
            case 5:
                var q5 = new byte[values.Length / 256 * Q5_K.BlockBytes];
                Q5_K.Quantize(values, q5);
                Q5_K.Dequantize(q5, expanded);
                break;
            default:
                var q6 = new byte[values.Length / 256 * Q6_K.BlockBytes];
                Q6_K.Quantize(values, q6);
                Q6_K.Dequantize(q6, expanded);
                break;
        }

        return expanded;
    }
}
