using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The interleaved kernels' wide forms (eight-token tiles, two-token sections; for Q4_0 on 512-bit vectors
/// with 16-bit partial sums, for Q8_0 with two row groups scaled per 512-bit vector): every output equals what the
/// four-token tiles and one-token kernels give it, bit for bit, and no partial sum can overflow.</summary>
public sealed unsafe class WideKernelTests
{
    /// <summary>Both interleaved types, each with a block scale that selects each fp16 conversion
    /// (<see cref="WithScaleForm"/>).</summary>
    public static TheoryData<GgmlType, string> TypesAndScaleForms => new()
    {
        { GgmlType.Q4_0, "Normal" },
        { GgmlType.Q4_0, "Finite" },
        { GgmlType.Q4_0, "Any" },
        { GgmlType.Q8_0, "Normal" },
        { GgmlType.Q8_0, "Finite" },
        { GgmlType.Q8_0, "Any" },
    };

    /// <summary>The k-quant types, each with a super-block d (or, for Q4_K/Q5_K's "Normal", a dmin) that selects each
    /// fp16 conversion.</summary>
    public static TheoryData<GgmlType, string> KQuantsAndUnitForms => new()
    {
        { GgmlType.Q4_K, "Normal" },
        { GgmlType.Q4_K, "Finite" },
        { GgmlType.Q4_K, "Any" },
        { GgmlType.Q5_K, "Normal" },
        { GgmlType.Q5_K, "Finite" },
        { GgmlType.Q5_K, "Any" },
        { GgmlType.Q6_K, "Normal" },
        { GgmlType.Q6_K, "Finite" },
        { GgmlType.Q6_K, "Any" },
    };

    /// <summary>104 rows (six group pairs and an odd group; three runs of four groups and one left) and token counts
    /// that leave no remainder, a four-token tile, one to three tokens after the tiles, and more than one 64-token
    /// block.</summary>
    [Theory]
    [MemberData(nameof(TypesAndScaleForms))]
    [MemberData(nameof(KQuantsAndUnitForms))]
    public void Eight_token_tiles_equal_four_token_tiles_and_single_tokens(GgmlType type, string form)
    {
        const int rows = 104;
        var columns = type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K ? 512 : 192;
        using var weightBytes = Weights(type, rows, columns, seed: 41);
        var weight = WithScaleForm(type, weightBytes, rows, columns, row: 50, block: 3, form);
        if (!WideSupported(type))
        {
            Assert.Throws<PlatformNotSupportedException>(() => Kernel(weight, wide: true));
            return;
        }

        using var wide = Kernel(weight, wide: true);
        using var narrow = Kernel(weight, wide: false);
        Assert.Equal(form, wide.Scales.ToString());
        foreach (var tokens in new[] { 6, 7, 8, 13, 14, 16, 37, 72 })
        {
            using var activations = new Activations(tokens, columns, i => MathF.Sin(i * 0.37f) * (1 + (i % 7)));
            var input = activations.Input;
            using var fromWide = new NativeBuffer<float>(tokens * rows);
            using var fromNarrow = new NativeBuffer<float>(tokens * rows);
            wide.Compute(input, fromWide.Pointer, rows, 0, rows);
            narrow.Compute(input, fromNarrow.Pointer, rows, 0, rows);
            using var single = new NativeBuffer<float>(rows);
            for (var t = 0; t < tokens; t++)
            {
                using var one = new QuantizedActivations(1, columns);
                one.Quantize(activations.X.Pointer + (t * columns), 1, columns);
                wide.Compute(new MatMulInput(activations.X.Pointer + (t * columns), one, 1, columns), single.Pointer, rows, 0, rows);
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
    [MemberData(nameof(TypesAndScaleForms))]
    public void Two_token_sections_equal_one_token_kernels(GgmlType type, string form)
    {
        const int rows = 104;
        const int columns = 160;
        const int sectionRows = 24;
        using var weightBytes = Weights(type, rows, columns, seed: 43);
        var weight = WithScaleForm(type, weightBytes, rows, columns, row: 9, block: 2, form);
        if (!WideSupported(type))
        {
            return;
        }

        using var wide = Kernel(weight, wide: true);
        using var narrow = Kernel(weight, wide: false);
        Assert.Equal(form, wide.Scales.ToString());
        for (var tokens = 2; tokens <= ISectionedMatMulKernel.MaxTokens; tokens++)
        {
            using var activations = new Activations(tokens, columns, i => MathF.Cos(i * 0.71f) * (2 + (i % 5)));
            var input = activations.Input;
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

    /// <summary>Every form of each type's kernel (<see cref="KernelForms"/>) gives every output what the narrow form
    /// without AVX-VNNI gives it for a batch of 13 tokens (tiles of eight and four, then one token), and one token at a
    /// time through the sections and through rows in order gives the same, bit for bit, in each scale form: which
    /// form a CPU runs, and how many tokens share a step, must not change a token.</summary>
    [Theory]
    [MemberData(nameof(TypesAndScaleForms))]
    public void Every_form_equals_the_narrow_tiles_bit_for_bit(GgmlType type, string form)
    {
        const int rows = 104;
        const int columns = 224;
        const int sectionRows = 24;
        const int tokens = 13;
        using var weightBytes = Weights(type, rows, columns, seed: 47);
        var weight = WithScaleForm(type, weightBytes, rows, columns, row: 77, block: 5, form);
        using var activations = new Activations(tokens, columns, i => MathF.Sin(i * 0.53f) * (1 + (i % 9)));
        var batch = activations.Input;
        var forms = KernelForms(weight);
        using var expected = new NativeBuffer<float>(tokens * rows);
        forms[0].Compute(batch, expected.Pointer, rows, 0, rows);
        using var tiles = new NativeBuffer<float>(tokens * rows);
        using var sectioned = new NativeBuffer<float>(rows);
        using var inOrder = new NativeBuffer<float>(rows);
        foreach (var kernel in forms)
        {
            Assert.Equal(form, kernel.Scales.ToString());
            kernel.Compute(batch, tiles.Pointer, rows, 0, rows);
            for (var t = 0; t < tokens; t++)
            {
                using var one = new QuantizedActivations(1, columns);
                one.Quantize(activations.X.Pointer + (t * columns), 1, columns);
                var input = new MatMulInput(activations.X.Pointer + (t * columns), one, 1, columns);
                kernel.ComputeSections(input, sectioned.Pointer, rows, 0, sectionRows, sectionRows);
                kernel.Compute(input, sectioned.Pointer, rows, 4 * sectionRows, rows);
                kernel.Compute(input, inOrder.Pointer, rows, 0, rows);
                for (var r = 0; r < rows; r++)
                {
                    var i = (t * rows) + r;
                    Assert.True(
                        SameBits(expected.Pointer[i], tiles.Pointer[i]) && SameBits(expected.Pointer[i], sectioned.Pointer[r]) && SameBits(expected.Pointer[i], inOrder.Pointer[r]),
                        $"form {forms.IndexOf(kernel)} token {t} row {r}: narrow tiles {expected.Pointer[i]}, tiles {tiles.Pointer[i]}, sections {sectioned.Pointer[r]}, in order {inOrder.Pointer[r]}");
                }
            }
        }

        forms.ForEach(k => k.Dispose());
    }

    /// <summary>The extremes each type allows, through the eight- and four-token tiles and the one or two tokens after
    /// them (the section kernels), in every form of each type's kernel (<see cref="KernelForms"/>): every nibble 15 (or 0) against activations that
    /// all quantize to +127 or −127 puts 8 · 2 · 15 · 127 = 30,480 into a 16-bit lane; for Q8_0 every byte 127 (or
    /// −128, stored +128-offset as 255 and 0). The outputs must still be the exact products (a wrapped or saturated
    /// lane would be off by thousands).</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    public void Extreme_weights_and_activations_stay_exact(GgmlType type)
    {
        const int rows = 32;
        const int columns = 128;
        // Per row parity: the stored bytes of every block and the weight value they stand for.
        var (evenByte, oddByte, evenWeight, oddWeight, blockBytes) = type == GgmlType.Q4_0
            ? ((byte)0xFF, (byte)0x00, 7.0, -8.0, Q4_0.BlockBytes)
            : ((byte)127, (byte)0x80, 127.0, -128.0, Q8_0.BlockBytes);
        using var weightBytes = Weights(type, rows, columns, seed: 7);
        var rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        for (var r = 0; r < rows; r++)
        {
            for (var b = 0; b < columns / 32; b++)
            {
                var block = weightBytes.Pointer + (r * rowBytes) + (b * blockBytes);
                *(ushort*)block = BitConverter.HalfToUInt16Bits((Half)(0.25f * (1 + (r % 3))));
                new Span<byte>(block + 2, blockBytes - 2).Fill(r % 2 == 0 ? evenByte : oddByte);
            }
        }

        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, weightBytes.Length);
        foreach (var kernel in KernelForms(weight))
        {
            foreach (var tokens in new[] { 9, 10 })
            {
                AssertExactProducts(kernel, tokens, evenWeight, oddWeight);
            }

            kernel.Dispose();
        }
    }

    private static void AssertExactProducts(InterleavedMatMul kernel, int tokens, double evenWeight, double oddWeight)
    {
        var rows = kernel.Rows;
        var columns = (int)kernel.Weight.Columns;
        using var activations = new Activations(tokens, columns, i => (i / columns) % 2 == 0 ? 3f : -3f);
        using var y = new NativeBuffer<float>(tokens * rows);
        kernel.Compute(activations.Input, y.Pointer, rows, 0, rows);
        for (var t = 0; t < tokens; t++)
        {
            Assert.Equal(t % 2 == 0 ? 127 : -127, activations.Quantized.Values[t * columns]);
            for (var r = 0; r < rows; r++)
            {
                var expected = (r % 2 == 0 ? evenWeight : oddWeight) * activations.Quantized.Values[t * columns] * columns * 0.25 * (1 + (r % 3)) * activations.Quantized.Scales[t * columns / 32];
                Assert.True(Math.Abs(y.Pointer[(t * rows) + r] - expected) <= 1e-6 * Math.Abs(expected), $"{tokens} tokens, token {t} row {r}: {y.Pointer[(t * rows) + r]} vs {expected}");
            }
        }
    }

    private static bool WideSupported(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => Q4_0x8MatMul.WideSupported,
        GgmlType.Q4_K => AffineKQuantx8MatMul<Q4_KLayout>.WideSupported,
        GgmlType.Q5_K => AffineKQuantx8MatMul<Q5_KLayout>.WideSupported,
        GgmlType.Q6_K => Q6_Kx8MatMul.WideSupported,
        _ => Q8_0x8MatMul.WideSupported,
    };

    private static InterleavedMatMul Kernel(WeightTensor weight, bool wide, bool vnni) =>
        weight.Type == GgmlType.Q4_0 ? new Q4_0x8MatMul(weight, wide, null, vnni) : new Q8_0x8MatMul(weight, wide, null, vnni);

    private static InterleavedMatMul Kernel(WeightTensor weight, bool wide) => weight.Type switch
    {
        GgmlType.Q4_K => new AffineKQuantx8MatMul<Q4_KLayout>(weight, wide),
        GgmlType.Q5_K => new AffineKQuantx8MatMul<Q5_KLayout>(weight, wide),
        GgmlType.Q6_K => new Q6_Kx8MatMul(weight, wide),
        _ => Kernel(weight, wide, AvxVnni.IsSupported),
    };

    /// <summary>Each form of the type's interleaved kernel this CPU can build: narrow and (where supported) wide, with
    /// products through vpdpbusd (with AVX-VNNI) and without it (Q4_0: 16-bit pair sums in the one-token kernel; Q8_0:
    /// signed weights through vpmaddubsw). The first is the narrow one without AVX-VNNI, which every AVX2 CPU
    /// runs.</summary>
    private static List<InterleavedMatMul> KernelForms(WeightTensor weight)
    {
        var forms = new List<InterleavedMatMul>();
        foreach (var vnni in new[] { false, true })
        {
            foreach (var wide in new[] { false, true })
            {
                if ((vnni && !AvxVnni.IsSupported) || (wide && !WideSupported(weight.Type)))
                {
                    continue;
                }

                forms.Add(Kernel(weight, wide, vnni));
            }
        }

        Assert.Equal(AvxVnni.IsSupported, forms.Count > (WideSupported(weight.Type) ? 2 : 1));
        if (!AvxVnni.IsSupported)
        {
            Assert.Throws<PlatformNotSupportedException>(() => Kernel(weight, wide: false, vnni: true));
        }

        return forms;
    }

    private static NativeBuffer<byte> Weights(GgmlType type, int rows, int columns, ulong seed)
    {
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, seed);
        var bytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(bytes.Pointer, (int)tensor.ByteLength));
        return bytes;
    }

    /// <summary>Gives one block the scale that makes the kernel use <paramref name="form"/>'s conversion
    /// (<see cref="ScaleUnits.ForForm"/>), after making every other unit normal; for k-quants the block is a
    /// super-block (<paramref name="block"/> modulo their number), and Q4_K/Q5_K's "Normal" zeroes a dmin as well as
    /// another row's d. Returns the matrix.</summary>
    private static WeightTensor WithScaleForm(GgmlType type, NativeBuffer<byte> weights, int rows, int columns, int row, int block, string form)
    {
        ScaleUnits.Normalize(weights.Pointer, type, rows, columns);
        var kQuant = type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;
        var at = kQuant ? block % (columns / 256) : block;
        ScaleUnits.Set(weights.Pointer, type, columns, row, at, 0, ScaleUnits.ForForm(form));
        if (form == "Normal" && type is GgmlType.Q4_K or GgmlType.Q5_K)
        {
            ScaleUnits.Set(weights.Pointer, type, columns, row + 1, at, 1, 0);
        }

        return new WeightTensor("w", type, [rows, columns], (nint)weights.Pointer, weights.Length);
    }

    private static bool SameBits(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

    /// <summary>Activations x[i] = value(i) for <c>tokens × columns</c>, their int8 quantization, and the kernels'
    /// input over both.</summary>
    private sealed unsafe class Activations : IDisposable
    {
        public Activations(int tokens, int columns, Func<int, float> value)
        {
            X = new NativeBuffer<float>(tokens * columns);
            for (var i = 0; i < tokens * columns; i++)
            {
                X.Pointer[i] = value(i);
            }

            Quantized = new QuantizedActivations(tokens, columns);
            Quantized.Quantize(X.Pointer, tokens, columns);
            Input = new MatMulInput(X.Pointer, Quantized, tokens, columns);
        }

        public NativeBuffer<float> X { get; }

        public QuantizedActivations Quantized { get; }

        public MatMulInput Input { get; }

        public void Dispose()
        {
            Quantized.Dispose();
            X.Dispose();
        }
    }
}
