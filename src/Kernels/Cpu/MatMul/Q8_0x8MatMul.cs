using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q8_0 weights repacked once into the <see cref="InterleavedLayout"/> (272 bytes per 8 rows × 32 columns: eight
/// fp16 scales, then eight 32-byte chunks; in chunk k, byte 4r+m is row r's column 4k+m). With AVX-VNNI weights are
/// stored offset by +128 so they are the unsigned operand of vpdpbusd, and the offset comes back out as the
/// accumulator's starting value −128·Σx of the activation block (<see cref="QuantizedActivations.ByteOffsets"/>);
/// without, they stay signed and go through vpmaddubsw with their sign moved onto the activations
/// (<see cref="IQ8_0Products"/>). Every kernel is compiled for both forms.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal sealed unsafe partial class Q8_0x8MatMul : InterleavedMatMul
{
    /// <summary>Eight rows × 32 bytes per 32-column block.</summary>
    internal const int ValueBytesPerBlock = 256;

    private readonly bool _wide;

    private readonly bool _vnni;

    /// <param name="weight">The stored Q8_0 matrix.</param>
    /// <param name="wide">Whether to run the eight-token tiles and two-token sections (<see cref="Group8Pair"/>,
    /// <see cref="Group2x4"/>); needs <see cref="WideSupported"/>.</param>
    /// <param name="arena">Where the repacked matrix goes; null: an allocation of its own.</param>
    /// <param name="vnni">Whether to store the weights offset binary for AVX-VNNI's vpdpbusd (needs
    /// <see cref="AvxVnni"/>) rather than signed for vpmaddubsw.</param>
    public Q8_0x8MatMul(WeightTensor weight, bool wide, WeightArena? arena, bool vnni)
        : base(weight, 32, InterleavedLayout.ScaleBytes + ValueBytesPerBlock, arena)
    {
        if (wide && !WideSupported)
        {
            throw new PlatformNotSupportedException("the wide Q8_0 kernels need 512-bit vectors");
        }

        if (vnni && !AvxVnni.IsSupported)
        {
            throw new PlatformNotSupportedException("this CPU has no AVX-VNNI");
        }

        _wide = wide;
        _vnni = vnni;
        Repack();
    }

    /// <summary>Whether this CPU runs the wide kernels, which scale two row groups' sums in one 512-bit vector.</summary>
    public static bool WideSupported => InterleavedLayout.CpuSupports(GgmlType.Q8_0) && Vector512.IsHardwareAccelerated;

    protected override bool TwoTokenSections => _wide;

    protected override bool EightTokenTiles => _wide;

    protected override void Group1(byte* group, QuantizedActivations q, int token, float* y)
    {
        if (_vnni)
        {
            Group1<OffsetBinaryProducts>(group, q, token, y);
        }
        else
        {
            Group1<SignedProducts>(group, q, token, y);
        }
    }

    private void Group1<TProducts>(byte* group, QuantizedActivations q, int token, float* y)
        where TProducts : struct, IQ8_0Products
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group1<TProducts, F16NormalRowLoader>(group, q, token, y);
                break;
            case BlockScaleForm.Finite:
                Group1<TProducts, F16FiniteRowLoader>(group, q, token, y);
                break;
            default:
                Group1<TProducts, F16RowLoader>(group, q, token, y);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Group1<TProducts, TScales>(byte* group, QuantizedActivations q, int token, float* y)
        where TProducts : struct, IQ8_0Products
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
        var offsets = q.ByteOffsets + ((long)token * Blocks);
        var acc = Vector256<float>.Zero;
        for (var b = 0; b < blocks; b++)
        {
            var block = group + (b * stride);
            var x = xq + (b * 32);
            // Four accumulators keep the chains of dependent vpdpbusd two long, as in Q4_0x8MatMul's one-token
            // kernel: more independent work in flight keeps more weight loads outstanding.
            var values = block + InterleavedLayout.ScaleBytes;
            var a0 = Dot<TProducts>(TProducts.Start(offsets[b]), Vector256.Load(values), Broadcast(x));
            var a1 = Dot<TProducts>(Vector256<int>.Zero, Vector256.Load(values + 32), Broadcast(x + 4));
            var a2 = Dot<TProducts>(Vector256<int>.Zero, Vector256.Load(values + 64), Broadcast(x + 8));
            var a3 = Dot<TProducts>(Vector256<int>.Zero, Vector256.Load(values + 96), Broadcast(x + 12));
            a0 = Dot<TProducts>(a0, Vector256.Load(values + 128), Broadcast(x + 16));
            a1 = Dot<TProducts>(a1, Vector256.Load(values + 160), Broadcast(x + 20));
            a2 = Dot<TProducts>(a2, Vector256.Load(values + 192), Broadcast(x + 24));
            a3 = Dot<TProducts>(a3, Vector256.Load(values + 224), Broadcast(x + 28));

            var scale = TScales.Load8(block, 0) * Vector256.Create(xs[b]);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((a0 + a1) + (a2 + a3)), scale, acc);
        }

        acc.Store(y);
    }

    protected override void Group1x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
    {
        if (_vnni)
        {
            Group1x4<OffsetBinaryProducts>(group, sectionBytes, q, token, y, sectionRows);
        }
        else
        {
            Group1x4<SignedProducts>(group, sectionBytes, q, token, y, sectionRows);
        }
    }

    private void Group1x4<TProducts>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
        where TProducts : struct, IQ8_0Products
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group1x4<TProducts, F16NormalRowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
            case BlockScaleForm.Finite:
                Group1x4<TProducts, F16FiniteRowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
            default:
                Group1x4<TProducts, F16RowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
        }
    }

    /// <summary>Each broadcast activation word feeds all four groups; two accumulators per group (even and odd
    /// chunks) keep eight independent vpdpbusd chains in flight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Group1x4<TProducts, TScales>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
        where TProducts : struct, IQ8_0Products
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var xq = q.Values + ((long)token * Columns);
        var scales = q.Scales + ((long)token * Blocks);
        var offsets = q.ByteOffsets + ((long)token * Blocks);
        var g0 = group;
        var g1 = g0 + sectionBytes;
        var g2 = g1 + sectionBytes;
        var g3 = g2 + sectionBytes;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var o = b * stride;
            PrefetchStreams(g0, g1, g2, g3, o + StreamPrefetchBytes, stride);
            var x = xq + (b * 32);
            var offset = TProducts.Start(offsets[b]);
            Vector256<int> even0 = offset, even1 = offset, even2 = offset, even3 = offset;
            Vector256<int> odd0 = default, odd1 = default, odd2 = default, odd3 = default;
            for (var k = 0; k < 8; k += 2)
            {
                var c = o + InterleavedLayout.ScaleBytes + (k * 32);
                var xe = Broadcast(x + (4 * k));
                var xo = Broadcast(x + (4 * k) + 4);
                even0 = Dot<TProducts>(even0, Vector256.Load(g0 + c), xe);
                odd0 = Dot<TProducts>(odd0, Vector256.Load(g0 + c + 32), xo);
                even1 = Dot<TProducts>(even1, Vector256.Load(g1 + c), xe);
                odd1 = Dot<TProducts>(odd1, Vector256.Load(g1 + c + 32), xo);
                even2 = Dot<TProducts>(even2, Vector256.Load(g2 + c), xe);
                odd2 = Dot<TProducts>(odd2, Vector256.Load(g2 + c + 32), xo);
                even3 = Dot<TProducts>(even3, Vector256.Load(g3 + c), xe);
                odd3 = Dot<TProducts>(odd3, Vector256.Load(g3 + c + 32), xo);
            }

            var xs = Vector256.Create(scales[b]);
            a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(even0 + odd0), TScales.Load8(g0 + o, 0) * xs, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(even1 + odd1), TScales.Load8(g1 + o, 0) * xs, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(even2 + odd2), TScales.Load8(g2 + o, 0) * xs, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(even3 + odd3), TScales.Load8(g3 + o, 0) * xs, a3);
        }

        a0.Store(y);
        a1.Store(y + sectionRows);
        a2.Store(y + (2 * sectionRows));
        a3.Store(y + (3 * sectionRows));
    }

    protected override void Group4(byte* group, QuantizedActivations q, int token, float* y, int ldy)
    {
        if (_vnni)
        {
            Group4<OffsetBinaryProducts>(group, q, token, y, ldy);
        }
        else
        {
            Group4<SignedProducts>(group, q, token, y, ldy);
        }
    }

    private void Group4<TProducts>(byte* group, QuantizedActivations q, int token, float* y, int ldy)
        where TProducts : struct, IQ8_0Products
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group4<TProducts, F16NormalRowLoader>(group, q, token, y, ldy);
                break;
            case BlockScaleForm.Finite:
                Group4<TProducts, F16FiniteRowLoader>(group, q, token, y, ldy);
                break;
            default:
                Group4<TProducts, F16RowLoader>(group, q, token, y, ldy);
                break;
        }
    }

    protected override void Group4Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        if (_vnni)
        {
            Group4Pair<OffsetBinaryProducts>(first, second, q, token, y, ldy, prefetch, prefetchLines);
        }
        else
        {
            Group4Pair<SignedProducts>(first, second, q, token, y, ldy, prefetch, prefetchLines);
        }
    }

    private void Group4Pair<TProducts>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TProducts : struct, IQ8_0Products
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group4Pair<TProducts, F16NormalRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Finite:
                Group4Pair<TProducts, F16FiniteRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            default:
                Group4Pair<TProducts, F16RowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
        }
    }

    /// <summary>Sixteen rows × four tokens: each broadcast activation word feeds both groups' products. Per output
    /// the operations are those of <see cref="Group4{TProducts, TScales}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Group4Pair<TProducts, TScales>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TProducts : struct, IQ8_0Products
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var x0 = q.Values + ((long)token * Columns);
        var x1 = x0 + Columns;
        var x2 = x1 + Columns;
        var x3 = x2 + Columns;
        var s0 = q.Scales + ((long)token * Blocks);
        var s1 = s0 + Blocks;
        var s2 = s1 + Blocks;
        var s3 = s2 + Blocks;
        var offset0 = q.ByteOffsets + ((long)token * Blocks);
        var offset1 = offset0 + Blocks;
        var offset2 = offset1 + Blocks;
        var offset3 = offset2 + Blocks;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var b = 0; b < blocks; b++)
        {
            PrefetchShare(prefetch, prefetchLines, b, blocks);

            var blockA = first + (b * stride);
            var blockB = second + (b * stride);
            var o = b * 32;
            Vector256<int> d0 = TProducts.Start(offset0[b]), e0 = d0;
            Vector256<int> d1 = TProducts.Start(offset1[b]), e1 = d1;
            Vector256<int> d2 = TProducts.Start(offset2[b]), e2 = d2;
            Vector256<int> d3 = TProducts.Start(offset3[b]), e3 = d3;
            for (var k = 0; k < 8; k++)
            {
                var wA = Vector256.Load(blockA + InterleavedLayout.ScaleBytes + (k * 32));
                var wB = Vector256.Load(blockB + InterleavedLayout.ScaleBytes + (k * 32));
                var oA = TProducts.Operand(wA);
                var oB = TProducts.Operand(wB);
                var c = o + (4 * k);
                var x = Broadcast(x0 + c);
                d0 = TProducts.Accumulate(d0, wA, oA, x);
                e0 = TProducts.Accumulate(e0, wB, oB, x);
                x = Broadcast(x1 + c);
                d1 = TProducts.Accumulate(d1, wA, oA, x);
                e1 = TProducts.Accumulate(e1, wB, oB, x);
                x = Broadcast(x2 + c);
                d2 = TProducts.Accumulate(d2, wA, oA, x);
                e2 = TProducts.Accumulate(e2, wB, oB, x);
                x = Broadcast(x3 + c);
                d3 = TProducts.Accumulate(d3, wA, oA, x);
                e3 = TProducts.Accumulate(e3, wB, oB, x);
            }

            var scaleA = TScales.Load8(blockA, 0);
            var scaleB = TScales.Load8(blockB, 0);
            a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d0), scaleA * Vector256.Create(s0[b]), a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d1), scaleA * Vector256.Create(s1[b]), a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d2), scaleA * Vector256.Create(s2[b]), a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d3), scaleA * Vector256.Create(s3[b]), a3);
            b0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(e0), scaleB * Vector256.Create(s0[b]), b0);
            b1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(e1), scaleB * Vector256.Create(s1[b]), b1);
            b2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(e2), scaleB * Vector256.Create(s2[b]), b2);
            b3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(e3), scaleB * Vector256.Create(s3[b]), b3);
        }

        a0.Store(y);
        b0.Store(y + InterleavedLayout.Rows);
        a1.Store(y + ldy);
        b1.Store(y + ldy + InterleavedLayout.Rows);
        a2.Store(y + (2 * ldy));
        b2.Store(y + (2 * ldy) + InterleavedLayout.Rows);
        a3.Store(y + (3 * ldy));
        b3.Store(y + (3 * ldy) + InterleavedLayout.Rows);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Group4<TProducts, TScales>(byte* group, QuantizedActivations q, int token, float* y, int ldy)
        where TProducts : struct, IQ8_0Products
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var x0 = q.Values + ((long)token * Columns);
        var x1 = x0 + Columns;
        var x2 = x1 + Columns;
        var x3 = x2 + Columns;
        var s0 = q.Scales + ((long)token * Blocks);
        var s1 = s0 + Blocks;
        var s2 = s1 + Blocks;
        var s3 = s2 + Blocks;
        var offset0 = q.ByteOffsets + ((long)token * Blocks);
        var offset1 = offset0 + Blocks;
        var offset2 = offset1 + Blocks;
        var offset3 = offset2 + Blocks;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var block = group + (b * stride);
            var o = b * 32;
            var d0 = TProducts.Start(offset0[b]);
            var d1 = TProducts.Start(offset1[b]);
            var d2 = TProducts.Start(offset2[b]);
            var d3 = TProducts.Start(offset3[b]);
            for (var k = 0; k < 8; k++)
            {
                var w = Vector256.Load(block + InterleavedLayout.ScaleBytes + (k * 32));
                var operand = TProducts.Operand(w);
                var c = o + (4 * k);
                d0 = TProducts.Accumulate(d0, w, operand, Broadcast(x0 + c));
                d1 = TProducts.Accumulate(d1, w, operand, Broadcast(x1 + c));
                d2 = TProducts.Accumulate(d2, w, operand, Broadcast(x2 + c));
                d3 = TProducts.Accumulate(d3, w, operand, Broadcast(x3 + c));
            }

            var scale = TScales.Load8(block, 0);
            a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d0), scale * Vector256.Create(s0[b]), a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d1), scale * Vector256.Create(s1[b]), a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d2), scale * Vector256.Create(s2[b]), a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(d3), scale * Vector256.Create(s3[b]), a3);
        }

        a0.Store(y);
        a1.Store(y + ldy);
        a2.Store(y + (2 * ldy));
        a3.Store(y + (3 * ldy));
    }

    /// <summary>Every byte of the row's chunks becomes the value 0: 0x80 in offset binary, 0x00 signed.</summary>
    protected override void ZeroScaled(byte* block, int unit)
    {
        var zero = _vnni ? 0x80808080u : 0u;
        for (var k = 0; k < 8; k++)
        {
            ((uint*)(block + InterleavedLayout.ScaleBytes))[(k * InterleavedLayout.Rows) + unit] = zero;
        }
    }

    /// <summary>Adding 128 to a two's-complement byte flips its top bit, so four weights are offset with one xor (with
    /// zero where they stay signed).</summary>
    protected override void RepackGroup(int group)
    {
        var source = (byte*)Weight.Data;
        var rowBytes = Weight.RowBytes;
        var offset = _vnni ? 0x80808080u : 0u;
        for (var b = 0; b < Blocks; b++)
        {
            var destination = GroupStart(group) + (b * GroupBlockBytes);
            for (var r = 0; r < InterleavedLayout.Rows; r++)
            {
                var block = source + (((long)group * InterleavedLayout.Rows) + r) * rowBytes + (b * Q8_0.BlockBytes);
                ((ushort*)destination)[r] = *(ushort*)block;
                var chunks = (uint*)(destination + InterleavedLayout.ScaleBytes) + r;
                for (var k = 0; k < 8; k++)
                {
                    chunks[k * 8] = Unsafe.ReadUnaligned<uint>(block + 2 + (4 * k)) ^ offset;
                }
            }
        }
    }

    /// <summary>One chunk's products added to <paramref name="acc"/>, for a chunk no other token uses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot<TProducts>(Vector256<int> acc, Vector256<byte> weights, Vector256<sbyte> x)
        where TProducts : struct, IQ8_0Products =>
        TProducts.Accumulate(acc, weights, TProducts.Operand(weights), x);
}
