using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The Q4_0 kernel's 512-bit kernels with 16-bit partial sums (eight-token tiles, two-token sections):
/// every output equals what the 256-bit kernels give it, bit for bit, and the partial sums cannot overflow.</summary>
public sealed unsafe class Q4_0WideTileTests
{
    /// <summary>104 rows (six group pairs and an odd group; three runs of four groups and one left) and token counts
    /// that leave no remainder, a four-token tile, one to three tokens after the tiles, and more than one 64-token
    /// block.</summary>
    [Theory]
    [InlineData("Normal")]
    [InlineData("Finite")]
    [InlineData("Any")]
    public void Eight_token_tiles_equal_four_token_tiles_and_single_tokens(string form)
    {
        const int rows = 104;
        const int columns = 192;
        using var weightBytes = Weights(rows, columns, seed: 41);
        SetScaleForm(weightBytes, columns, row: 50, block: 3, form);
        var weight = new WeightTensor("w", GgmlType.Q4_0, [rows, columns], (nint)weightBytes.Pointer, weightBytes.Length);
        if (!Q4_0x8MatMul.WideSupported)
        {
            Assert.Throws<PlatformNotSupportedException>(() => new Q4_0x8MatMul(weight, wide: true));
            return;
        }

        using var wide = new Q4_0x8MatMul(weight, wide: true);
        using var narrow = new Q4_0x8MatMul(weight, wide: false);
        Assert.Equal(form, wide.Scales.ToString());
        foreach (var tokens in new[] { 6, 7, 8, 13, 14, 16, 37, 72 })
        {
            using var x = new NativeBuffer<float>(tokens * columns);
            for (var i = 0; i < tokens * columns; i++)
            {
                x.Pointer[i] = MathF.Sin(i * 0.37f) * (1 + (i % 7));
            }

            using var quantized = new QuantizedActivations(tokens, columns);
            quantized.Quantize(x.Pointer, tokens, columns);
            var input = new MatMulInput(x.Pointer, quantized, tokens, columns);
            using var fromWide = new NativeBuffer<float>(tokens * rows);
            using var fromNarrow = new NativeBuffer<float>(tokens * rows);
            wide.Compute(input, fromWide.Pointer, rows, 0, rows);
            narrow.Compute(input, fromNarrow.Pointer, rows, 0, rows);
            using var single = new NativeBuffer<float>(rows);
            for (var t = 0; t < tokens; t++)
            {
                using var one = new QuantizedActivations(1, columns);
                one.Quantize(x.Pointer + (t * columns), 1, columns);
                wide.Compute(new MatMulInput(x.Pointer + (t * columns), one, 1, columns), single.Pointer, rows, 0, rows);
                for (var r = 0; r < rows; r++)
                {
                    var i = (t * rows) + r;
                    Assert.True(
                        SameBits(fromWide.Pointer[i], fromNarrow.Pointer[i]) && SameBits(fromWide.Pointer[i], single.Pointer[r]),
                        $"{tokens} tokens, token {t} row {r}: eight-token tile {fromWide.Pointer[i]}, four-token {fromNarrow.Pointer[i]}, alone {single.Pointer[r]}");
                }
            }
        }
    }

    /// <summary>The two-token section kernel (decode of two or three sequences, or a short verification) gives
    /// every row what the one-token kernels give it, bit for bit, in each scale form.</summary>
    [Theory]
    [InlineData("Normal")]
    [InlineData("Finite")]
    [InlineData("Any")]
    public void Two_token_sections_equal_one_token_kernels(string form)
    {
        const int rows = 104;
        const int columns = 160;
        const int sectionRows = 24;
        using var weightBytes = Weights(rows, columns, seed: 43);
        SetScaleForm(weightBytes, columns, row: 9, block: 2, form);
        var weight = new WeightTensor("w", GgmlType.Q4_0, [rows, columns], (nint)weightBytes.Pointer, weightBytes.Length);
        if (!Q4_0x8MatMul.WideSupported)
        {
            return;
        }

        using var wide = new Q4_0x8MatMul(weight, wide: true);
        using var narrow = new Q4_0x8MatMul(weight, wide: false);
        Assert.Equal(form, wide.Scales.ToString());
        for (var tokens = 2; tokens <= ISectionedMatMulKernel.MaxTokens; tokens++)
        {
            using var x = new NativeBuffer<float>(tokens * columns);
            for (var i = 0; i < tokens * columns; i++)
            {
                x.Pointer[i] = MathF.Cos(i * 0.71f) * (2 + (i % 5));
            }

            using var quantized = new QuantizedActivations(tokens, columns);
            quantized.Quantize(x.Pointer, tokens, columns);
            var input = new MatMulInput(x.Pointer, quantized, tokens, columns);
            using var fromWide = new NativeBuffer<float>(tokens * rows);
            using var fromNarrow = new NativeBuffer<float>(tokens * rows);
            using var inOrder = new NativeBuffer<float>(tokens * rows);
            wide.ComputeSections(input, fromWide.Pointer, rows, 0, sectionRows, sectionRows);
            narrow.ComputeSections(input, fromNarrow.Pointer, rows, 0, sectionRows, sectionRows);
            narrow.Compute(input, inOrder.Pointer, rows, 0, 4 * sectionRows);
            for (var t = 0; t < tokens; t++)
            {
                for (var r = 0; r < 4 * sectionRows; r++)
                {
                    var i = (t * rows) + r;
                    Assert.True(
                        SameBits(fromWide.Pointer[i], fromNarrow.Pointer[i]) && SameBits(fromWide.Pointer[i], inOrder.Pointer[i]),
                        $"{tokens} tokens, token {t} row {r}: two-token sections {fromWide.Pointer[i]}, one-token sections {fromNarrow.Pointer[i]}, rows in order {inOrder.Pointer[i]}");
                }
            }
        }
    }

    /// <summary>The largest partial sums 4-bit weights allow: every nibble 15 (or 0) against activations that all
    /// quantize to +127 or −127 puts 8 · 2 · 15 · 127 = 30,480 into a 16-bit lane; the outputs must still be the exact
    /// products (a wrapped or saturated lane would be off by thousands).</summary>
    [Fact]
    public void Extreme_nibbles_and_activations_stay_exact()
    {
        const int rows = 32;
        const int columns = 128;
        if (!Q4_0x8MatMul.WideSupported)
        {
            return;
        }

        using var weightBytes = Weights(rows, columns, seed: 7);
        var rowBytes = GgmlTypeInfo.ByteCount(GgmlType.Q4_0, columns);
        for (var r = 0; r < rows; r++)
        {
            for (var b = 0; b < columns / 32; b++)
            {
                var block = weightBytes.Pointer + (r * rowBytes) + (b * Q4_0.BlockBytes);
                *(ushort*)block = BitConverter.HalfToUInt16Bits((Half)(0.25f * (1 + (r % 3))));
                new Span<byte>(block + 2, 16).Fill(r % 2 == 0 ? (byte)0xFF : (byte)0x00);
            }
        }

        var weight = new WeightTensor("w", GgmlType.Q4_0, [rows, columns], (nint)weightBytes.Pointer, weightBytes.Length);
        using var kernel = new Q4_0x8MatMul(weight, wide: true);
        const int tokens = 8;
        using var x = new NativeBuffer<float>(tokens * columns);
        for (var i = 0; i < tokens * columns; i++)
        {
            x.Pointer[i] = (i / columns) % 2 == 0 ? 3f : -3f;
        }

        using var quantized = new QuantizedActivations(tokens, columns);
        quantized.Quantize(x.Pointer, tokens, columns);
        using var y = new NativeBuffer<float>(tokens * rows);
        kernel.Compute(new MatMulInput(x.Pointer, quantized, tokens, columns), y.Pointer, rows, 0, rows);
        for (var t = 0; t < tokens; t++)
        {
            Assert.Equal(t % 2 == 0 ? 127 : -127, quantized.Values[t * columns]);
            for (var r = 0; r < rows; r++)
            {
                var expected = (r % 2 == 0 ? 7.0 : -8.0) * quantized.Values[t * columns] * columns * 0.25 * (1 + (r % 3)) * quantized.Scales[t * columns / 32];
                Assert.True(Math.Abs(y.Pointer[(t * rows) + r] - expected) <= 1e-6 * Math.Abs(expected), $"token {t} row {r}: {y.Pointer[(t * rows) + r]} vs {expected}");
            }
        }
    }

    private static NativeBuffer<byte> Weights(int rows, int columns, ulong seed)
    {
        var tensor = new SyntheticTensor("w", GgmlType.Q4_0, [rows, columns], SyntheticTensorKind.Matrix, seed);
        var bytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(bytes.Pointer, (int)tensor.ByteLength));
        return bytes;
    }

    /// <summary>Gives one block the scale that makes the kernel use <paramref name="form"/>'s conversion: zero
    /// (Normal, rewritten at repack), a subnormal (Finite) or an infinity (Any).</summary>
    private static void SetScaleForm(NativeBuffer<byte> weights, int columns, int row, int block, string form)
    {
        var rowBytes = GgmlTypeInfo.ByteCount(GgmlType.Q4_0, columns);
        *(ushort*)(weights.Pointer + (row * rowBytes) + (block * Q4_0.BlockBytes)) = form switch
        {
            "Finite" => 0x0003,
            "Any" => BitConverter.HalfToUInt16Bits(Half.PositiveInfinity),
            _ => 0,
        };
    }

    private static bool SameBits(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);
}
