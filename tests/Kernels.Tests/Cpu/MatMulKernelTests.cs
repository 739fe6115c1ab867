using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>Each matrix kernel against a float64 product of the same stored weights and the same activations (for
/// the integer kernels: the int8 activations they actually consume), so the kernels' arithmetic is checked to
/// rounding error, separately from the error that activation quantization adds by design.</summary>
public sealed unsafe class MatMulKernelTests
{
    [Theory]
    [InlineData(GgmlType.F32, 1, false)]
    [InlineData(GgmlType.F32, 7, false)]
    [InlineData(GgmlType.F16, 5, false)]
    [InlineData(GgmlType.F16, 3, false)]
    [InlineData(GgmlType.BF16, 4, false)]
    [InlineData(GgmlType.Q8_0, 1, false)]
    [InlineData(GgmlType.Q8_0, 6, false)]
    [InlineData(GgmlType.Q4_0, 1, false)]
    [InlineData(GgmlType.Q4_0, 9, false)]
    [InlineData(GgmlType.Q8_0, 1, true)]
    [InlineData(GgmlType.Q8_0, 6, true)]
    [InlineData(GgmlType.Q4_0, 1, true)]
    [InlineData(GgmlType.Q4_0, 9, true)]
    [InlineData(GgmlType.Q8_0, 37, true)]
    [InlineData(GgmlType.Q4_0, 37, true)]
    [InlineData(GgmlType.Q4_K, 1, true)]
    [InlineData(GgmlType.Q4_K, 6, true)]
    [InlineData(GgmlType.Q5_K, 1, true)]
    [InlineData(GgmlType.Q5_K, 5, true)]
    [InlineData(GgmlType.Q6_K, 1, true)]
    [InlineData(GgmlType.Q6_K, 7, true)]
    [InlineData(GgmlType.Q4_K, 6, false)]
    [InlineData(GgmlType.Q5_K, 1, false)]
    [InlineData(GgmlType.Q6_K, 5, false)]
    public void Kernel_matches_float64_product(GgmlType type, int tokens, bool interleaved)
    {
        // Float kernels also get ragged shapes (rows not a multiple of 4, columns not of 8) to reach their tails;
        // k-quant rows are whole 256-weight super-blocks.
        var (rows, columns) = type switch
        {
            GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => (42, 172),
            GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => (40, 768),
            _ => (40, 160),
        };
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, 99);
        using var weightBytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(weightBytes.Pointer, (int)tensor.ByteLength));
        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, tensor.ByteLength);
        var kernel = interleaved ? MatMulKernels.For(weight) : MatMulKernels.ForStoredLayout(weight);
        Assert.Equal(interleaved && InterleavedLayout.Supports(type, rows), kernel is InterleavedMatMul);

        AssertMatchesFloat64(weight, kernel, tokens);
        (kernel as IDisposable)?.Dispose();
    }

    /// <summary>The k-quants' extremes through every kernel path (row groups and stored layout; one token, sections,
    /// tiles of four and eight): every value at
    /// its largest level (Q4_K 15, Q5_K 31, Q6_K 63) or its smallest, the largest scales and minimums (63, Q6_K ±127
    /// and −128), against activations that all quantize to +127 or −127, so every 16-bit partial sum is as large as
    /// the layouts allow; each token's activations have one sign, so such errors could not cancel between blocks. A
    /// wrapped or saturated lane would be off by thousands of units.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void KQuant_extremes_stay_exact(GgmlType type)
    {
        const int rows = 40;
        const int columns = 512;
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, 3);
        using var weightBytes = new NativeBuffer<byte>(tensor.ByteLength);
        var rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        var blockBytes = (int)(rowBytes / (columns / 256));
        Span<byte> levels = stackalloc byte[8];
        for (var r = 0; r < rows; r++)
        {
            var high = r % 2 == 0;
            for (var b = 0; b < columns / 256; b++)
            {
                var block = new Span<byte>(weightBytes.Pointer + (r * rowBytes) + (b * blockBytes), blockBytes);
                block.Fill(high ? (byte)0xFF : (byte)0x00);
                if (type == GgmlType.Q6_K)
                {
                    block.Slice(Q6_K.ScalesOffset, 16).Fill(r % 3 == 0 ? (byte)0x80 : (byte)127);
                    BitConverter.TryWriteBytes(block[Q6_K.ScaleOffset..], BitConverter.HalfToUInt16Bits((Half)0.01f));
                    continue;
                }

                levels.Fill(63);
                BitConverter.TryWriteBytes(block, BitConverter.HalfToUInt16Bits((Half)0.02f));
                BitConverter.TryWriteBytes(block[2..], BitConverter.HalfToUInt16Bits((Half)0.03f));
                KQuantScales.Pack(levels, levels, block.Slice(4, KQuantScales.PackedBytes));
            }
        }

        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, tensor.ByteLength);
        foreach (var kernel in new[] { MatMulKernels.For(weight), MatMulKernels.ForStoredLayout(weight) })
        {
            foreach (var tokens in new[] { 1, 4, 9 })
            {
                AssertMatchesFloat64(weight, kernel, tokens, i => (i / columns) % 2 == 0 ? 3f : -3f);
                AssertQuantizedSectionsEqualRows((ISectionedMatMulKernel)kernel, rows, columns, 8, tokenStep: 2);
            }

            (kernel as IDisposable)?.Dispose();
        }
    }

    /// <summary>Wide enough rows (8,192 columns) that 37 tokens span three activation blocks of the float kernel's
    /// panel path (16, 16 and 4 tokens) plus one token past the last whole tile, on whole and ragged row tiles.</summary>
    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.F32)]
    public void Float_kernel_over_several_token_blocks_matches_float64_product(GgmlType type)
    {
        const int rows = 18;
        const int columns = 8192;
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, 17);
        using var weightBytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(weightBytes.Pointer, (int)tensor.ByteLength));
        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, tensor.ByteLength);
        var kernel = MatMulKernels.ForStoredLayout(weight);
        AssertMatchesFloat64(weight, kernel, 37);
    }

    /// <summary>Zero and subnormal fp16 units (Q4_0/Q8_0 block scales; k-quant super-blocks' d and Q4_K/Q5_K's dmin,
    /// as llama.cpp writes for all-zero or tiny blocks): with only zeros the row-group kernels rewrite what those units
    /// multiply and convert every unit with integer operations; a subnormal one keeps the multiply-based conversion.
    /// Either way every product stays exact to rounding, for one token and for tiles.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0, false, "Normal")]
    [InlineData(GgmlType.Q4_0, true, "Finite")]
    [InlineData(GgmlType.Q8_0, false, "Normal")]
    [InlineData(GgmlType.Q8_0, true, "Finite")]
    [InlineData(GgmlType.Q4_K, false, "Normal")]
    [InlineData(GgmlType.Q4_K, true, "Finite")]
    [InlineData(GgmlType.Q5_K, false, "Normal")]
    [InlineData(GgmlType.Q5_K, true, "Finite")]
    [InlineData(GgmlType.Q6_K, false, "Normal")]
    [InlineData(GgmlType.Q6_K, true, "Finite")]
    public void Zero_and_subnormal_scale_units_keep_products_exact(GgmlType type, bool subnormal, string expected)
    {
        const int rows = 40;
        var kQuant = GgmlTypeInfo.BlockSize(type) == 256;
        var columns = kQuant ? 768 : 160;
        var blocks = columns / GgmlTypeInfo.BlockSize(type);
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, kQuant ? 23UL : 21UL);
        using var weightBytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(weightBytes.Pointer, (int)tensor.ByteLength));
        ScaleUnits.Normalize(weightBytes.Pointer, type, rows, columns);
        var units = type is GgmlType.Q4_K or GgmlType.Q5_K ? 2 : 1;
        foreach (var (row, block, unit) in new[] { (3, 1, 0), (17, 0, 1), (30, 4, 0), (30, 4, 1), (31, 4, 1) })
        {
            ScaleUnits.Set(weightBytes.Pointer, type, columns, row, block % blocks, unit % units, 0);
        }

        ScaleUnits.Set(weightBytes.Pointer, type, columns, 20, 2, 0, 0x8000);
        if (subnormal)
        {
            ScaleUnits.Set(weightBytes.Pointer, type, columns, 9, 2, units - 1, 0x0003);
        }

        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, tensor.ByteLength);
        var kernel = MatMulKernels.For(weight);
        Assert.Equal(InterleavedLayout.CpuSupports(type), kernel is InterleavedMatMul);
        Assert.Equal(expected, (kernel as InterleavedMatMul)?.Scales.ToString() ?? expected);
        AssertMatchesFloat64(weight, kernel, 1);
        AssertMatchesFloat64(weight, kernel, 9);
        (kernel as IDisposable)?.Dispose();
    }

    /// <summary>The kernel over four sections at once gives every row exactly what the one-section kernel gives it,
    /// for one and for three tokens and each scale form (decode must not depend on which path a row took).</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0, "Normal")]
    [InlineData(GgmlType.Q4_0, "Finite")]
    [InlineData(GgmlType.Q4_0, "Any")]
    [InlineData(GgmlType.Q8_0, "Normal")]
    [InlineData(GgmlType.Q8_0, "Finite")]
    [InlineData(GgmlType.Q8_0, "Any")]
    public void Sections_equal_rows_in_order_bit_for_bit(GgmlType type, string form)
    {
        const int rows = 104;
        const int columns = 160;
        const int sectionRows = 24;
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, 31);
        using var weightBytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(weightBytes.Pointer, (int)tensor.ByteLength));
        ScaleUnits.Set(weightBytes.Pointer, type, columns, 50, 3, 0, ScaleUnits.ForForm(form));
        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, tensor.ByteLength);
        if (StoredLayoutOnly(weight))
        {
            return;
        }

        var kernel = (InterleavedMatMul)MatMulKernels.For(weight);
        Assert.Equal(form, kernel.Scales.ToString());

        AssertQuantizedSectionsEqualRows(kernel, rows, columns, sectionRows, tokenStep: 2);

        kernel.Dispose();
    }

    /// <summary>The k-quant kernels over four sections give every row what they give it one row at a time, for one to
    /// three tokens, with the super-block units in each form.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_K, "Normal")]
    [InlineData(GgmlType.Q4_K, "Finite")]
    [InlineData(GgmlType.Q4_K, "Any")]
    [InlineData(GgmlType.Q5_K, "Normal")]
    [InlineData(GgmlType.Q5_K, "Finite")]
    [InlineData(GgmlType.Q5_K, "Any")]
    [InlineData(GgmlType.Q6_K, "Normal")]
    [InlineData(GgmlType.Q6_K, "Finite")]
    [InlineData(GgmlType.Q6_K, "Any")]
    public void KQuant_sections_equal_rows_in_order_bit_for_bit(GgmlType type, string form)
    {
        const int rows = 72;
        const int columns = 512;
        const int sectionRows = 16;
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, 37);
        using var weightBytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(weightBytes.Pointer, (int)tensor.ByteLength));
        ScaleUnits.Normalize(weightBytes.Pointer, type, rows, columns);
        ScaleUnits.Set(weightBytes.Pointer, type, columns, 50, 1, 0, ScaleUnits.ForForm(form));
        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, tensor.ByteLength);
        var kernel = (ISectionedMatMulKernel)MatMulKernels.For(weight);
        Assert.Equal(InterleavedLayout.Supports(type, rows), kernel is InterleavedMatMul);
        Assert.Equal(form, (kernel as InterleavedMatMul)?.Scales.ToString() ?? form);
        AssertQuantizedSectionsEqualRows(kernel, rows, columns, sectionRows, tokenStep: 1);
        (kernel as IDisposable)?.Dispose();

        // The stored-layout kernels, which matrices whose rows are not whole row groups get.
        AssertQuantizedSectionsEqualRows((ISectionedMatMulKernel)MatMulKernels.ForStoredLayout(weight), rows, columns, sectionRows, tokenStep: 1);
    }

    /// <summary>fp16 weights over four sections (activations scaled by 2^112, rows widened without the rescaling
    /// multiply) give every row what the row-by-row kernel gives it, for one to three tokens, with subnormal weights,
    /// a column tail, and an activation too large to scale (that call falls back to the plain widening).</summary>
    [Theory]
    [InlineData(0f)]
    [InlineData(1e6f)]
    public void Fp16_sections_equal_rows_in_order_bit_for_bit(float outlier)
    {
        const int rows = 40;
        const int columns = 72;
        const int sectionRows = 8;
        using var weights = new NativeBuffer<ushort>(rows * columns);
        for (var i = 0; i < rows * columns; i++)
        {
            var value = MathF.Sin(i * 0.7f) * (i % 5 == 0 ? 3e-6f : 2f);
            weights.Pointer[i] = BitConverter.HalfToUInt16Bits((Half)value);
        }

        var weight = new WeightTensor("w", GgmlType.F16, [rows, columns], (nint)weights.Pointer, rows * columns * 2L);
        var kernel = (ISectionedMatMulKernel)MatMulKernels.For(weight);
        Assert.Equal(typeof(F16FiniteRowLoader), kernel.GetType().GetGenericArguments()[0]);
        for (var tokens = 1; tokens <= ISectionedMatMulKernel.MaxTokens; tokens++)
        {
            using var x = new NativeBuffer<float>(tokens * columns);
            for (var i = 0; i < tokens * columns; i++)
            {
                x.Pointer[i] = MathF.Cos(i * 1.3f) * 3;
            }

            x.Pointer[(tokens * columns) - 2] = outlier == 0 ? x.Pointer[(tokens * columns) - 2] : outlier;
            AssertSectionsEqualRows(kernel, new MatMulInput(x.Pointer, null, tokens, columns), rows, sectionRows, firstCall: sectionRows);
        }
    }

    /// <summary><see cref="AssertSectionsEqualRows"/> for an integer kernel, over int8 activations of one token and
    /// every <paramref name="tokenStep"/>-th count up to <see cref="ISectionedMatMulKernel.MaxTokens"/>.</summary>
    private static void AssertQuantizedSectionsEqualRows(ISectionedMatMulKernel kernel, int rows, int columns, int sectionRows, int tokenStep)
    {
        for (var tokens = 1; tokens <= ISectionedMatMulKernel.MaxTokens; tokens += tokenStep)
        {
            using var x = new NativeBuffer<float>(tokens * columns);
            for (var i = 0; i < tokens * columns; i++)
            {
                x.Pointer[i] = MathF.Cos(i * 1.3f) * 3;
            }

            using var quantized = new QuantizedActivations(tokens, columns);
            quantized.Quantize(x.Pointer, tokens, columns);
            AssertSectionsEqualRows(kernel, new MatMulInput(x.Pointer, quantized, tokens, columns), rows, sectionRows, firstCall: 8);
        }
    }

    /// <summary>Rows through <see cref="ISectionedMatMulKernel.ComputeSections"/> (in two calls split at
    /// <paramref name="firstCall"/>) and the rows after the sections through Compute, against Compute over all
    /// rows, bit for bit.</summary>
    private static void AssertSectionsEqualRows(ISectionedMatMulKernel kernel, in MatMulInput input, int rows, int sectionRows, int firstCall)
    {
        var tokens = input.Tokens;
        using var inOrder = new NativeBuffer<float>(tokens * rows);
        using var sectioned = new NativeBuffer<float>(tokens * rows);
        kernel.Compute(input, inOrder.Pointer, rows, 0, rows);
        sectioned.AsSpan(0, tokens * rows).Fill(float.NaN);
        kernel.ComputeSections(input, sectioned.Pointer, rows, 0, firstCall, sectionRows);
        if (firstCall < sectionRows)
        {
            kernel.ComputeSections(input, sectioned.Pointer, rows, firstCall, sectionRows, sectionRows);
        }

        kernel.Compute(input, sectioned.Pointer, rows, kernel.Sections * sectionRows, rows);
        for (var i = 0; i < tokens * rows; i++)
        {
            Assert.True(
                BitConverter.SingleToInt32Bits(inOrder.Pointer[i]) == BitConverter.SingleToInt32Bits(sectioned.Pointer[i]),
                $"token {i / rows} row {i % rows}: {sectioned.Pointer[i]} vs {inOrder.Pointer[i]}");
        }
    }

    /// <summary>Where the CPU cannot run a type's interleaved kernels (without AVX2 and FMA) they refuse to be
    /// built and matrices get the stored-layout kernels (whose arithmetic the float64 tests cover); returns whether
    /// that is the case here.</summary>
    private static bool StoredLayoutOnly(WeightTensor weight)
    {
        if (InterleavedLayout.CpuSupports(weight.Type))
        {
            return false;
        }

        Assert.Throws<PlatformNotSupportedException>(() => weight.Type == GgmlType.Q4_0 ? (object)new Q4_0x8MatMul(weight, wide: false, null, vnni: false) : new Q8_0x8MatMul(weight, wide: false, null, vnni: false));
        Assert.IsNotAssignableFrom<InterleavedMatMul>(MatMulKernels.For(weight));
        return true;
    }

    private static void AssertMatchesFloat64(WeightTensor weight, IMatMulKernel kernel, int tokens, Func<int, float>? activation = null)
    {
        var rows = (int)weight.Rows;
        var columns = (int)weight.Columns;
        var random = new Random(5);
        using var x = new NativeBuffer<float>(tokens * columns);
        for (var i = 0; i < tokens * columns; i++)
        {
            x.Pointer[i] = activation?.Invoke(i) ?? (float)((random.NextDouble() * 4) - 2);
        }

        using var quantized = new QuantizedActivations(tokens, columns);
        quantized.Quantize(x.Pointer, tokens, columns);
        var input = new MatMulInput(x.Pointer, quantized, tokens, columns);
        using var y = new NativeBuffer<float>(tokens * rows);
        kernel.Compute(input, y.Pointer, rows, 0, 16);
        kernel.Compute(input, y.Pointer, rows, 16, rows);

        var w = new float[columns];
        for (var r = 0; r < rows; r++)
        {
            TensorReader.ReadRow(weight, r, w);
            for (var t = 0; t < tokens; t++)
            {
                double expected = 0, magnitude = 0;
                for (var i = 0; i < columns; i++)
                {
                    var k = (t * columns) + i;
                    double xi = kernel.UsesQuantizedInput ? quantized.Scales[k / 32] * (double)quantized.Values[k] : x.Pointer[k];
                    expected += w[i] * xi;
                    magnitude += Math.Abs(w[i] * xi);
                }

                Assert.True(Math.Abs(y.Pointer[(t * rows) + r] - expected) <= 1e-5 * magnitude, $"row {r} token {t}: {y.Pointer[(t * rows) + r]} vs {expected}");
            }
        }
    }

    /// <summary>A block scale of +inf must give a non-finite output for its row: the interleaved kernels only use the
    /// cheaper fp16 conversion (which would turn the scale into 65536) when every scale is finite.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void Infinite_block_scales_propagate(GgmlType type)
    {
        const int rows = 16;
        var columns = GgmlTypeInfo.BlockSize(type) * 2;
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, 3);
        using var weightBytes = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(weightBytes.Pointer, (int)tensor.ByteLength));
        ScaleUnits.Set(weightBytes.Pointer, type, columns, 5, 0, 0, ScaleUnits.ForForm("Any"));
        var weight = new WeightTensor("w", type, [rows, columns], (nint)weightBytes.Pointer, tensor.ByteLength);
        var kernel = MatMulKernels.For(weight);
        using var x = new NativeBuffer<float>(columns);
        for (var i = 0; i < columns; i++)
        {
            x.Pointer[i] = 1f + (i % 3);
        }

        using var quantized = new QuantizedActivations(1, columns);
        quantized.Quantize(x.Pointer, 1, columns);
        using var y = new NativeBuffer<float>(rows);
        kernel.Compute(new MatMulInput(x.Pointer, quantized, 1, columns), y.Pointer, rows, 0, rows);
        (kernel as IDisposable)?.Dispose();
        Assert.False(float.IsFinite(y.Pointer[5]));
        Assert.True(float.IsFinite(y.Pointer[4]) && float.IsFinite(y.Pointer[6]));
    }

    [Fact]
    public void Activation_quantization_is_within_half_a_step()
    {
        const int columns = 256;
        var random = new Random(1);
        using var x = new NativeBuffer<float>(columns);
        for (var i = 0; i < columns; i++)
        {
            x.Pointer[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 3)));
        }

        x.Pointer[40] = 0;
        using var quantized = new QuantizedActivations(1, columns);
        quantized.Quantize(x.Pointer, 1, columns);
        for (var b = 0; b < columns / 32; b++)
        {
            var sum = 0;
            for (var i = b * 32; i < (b + 1) * 32; i++)
            {
                Assert.True(Math.Abs((quantized.Scales[b] * quantized.Values[i]) - x.Pointer[i]) <= (quantized.Scales[b] * 0.5) + 1e-7);
                sum += quantized.Values[i];
            }

            Assert.Equal(sum, quantized.Sums[b]);
            Assert.Equal(sum, quantized.HalfSums[2 * b] + quantized.HalfSums[(2 * b) + 1]);
            var low = 0;
            for (var i = b * 32; i < (b * 32) + 16; i++)
            {
                low += quantized.Values[i];
            }

            Assert.Equal(low, quantized.HalfSums[2 * b]);
            Assert.Equal(-8 * sum, quantized.NibbleOffsets[b]);
            Assert.Equal(-128 * sum, quantized.ByteOffsets[b]);
        }
    }
}
