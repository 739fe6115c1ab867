using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Serving.Kernels.Cpu.MatMul;

// Q8_0x8MatMul, part: the wide kernels (CPUs with 512-bit vectors). The products stay 256-bit (IQ8_0Products): Q8_0's
// signed 8-bit weights do not allow Q4_0's 16-bit partial sums (two products of an 8-bit weight and an activation
// already reach 2 · 128 · 127), so what these kernels save is instructions around the products: each loaded weight
// chunk feeds more tokens, and two row groups' sums are scaled in one 512-bit vector.
internal sealed unsafe partial class Q8_0x8MatMul
{
    protected override void Group8Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        if (_vnni)
        {
            Group8Pair<OffsetBinaryProducts>(first, second, q, token, y, ldy, prefetch, prefetchLines);
        }
        else
        {
            Group8Pair<SignedProducts>(first, second, q, token, y, ldy, prefetch, prefetchLines);
        }
    }

    private void Group8Pair<TProducts>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TProducts : struct, IQ8_0Products
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group8Pair<TProducts, F16NormalRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Finite:
                Group8Pair<TProducts, F16FiniteRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            default:
                Group8Pair<TProducts, F16RowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
        }
    }

    /// <summary>
    /// Sixteen rows × eight tokens: each weight chunk of both groups is loaded once for eight tokens (sixteen
    /// independent vpdpbusd chains), and per token and block the two groups' integer sums are converted, scaled and
    /// accumulated as one 512-bit vector. The integer sums are exact whatever the order, and each output's scaling is
    /// <see cref="Group4{TProducts, TScales}"/>'s operations on the same values, so the outputs are bit-identical to it. The
    /// four-token tile spent about as many instructions around its products as on them (`bench kernels --tokens 32`:
    /// 52 % of the int8 rate, against 82 % for Q4_0's eight-token tile). With the eight 512-bit float sums also in
    /// registers, the JIT moves half of the sixteen int32 sums through two low registers around every vpdpbusd; keeping
    /// the float sums in the output rows instead removes those moves but made the tile 4–6 % slower (one core).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Group8Pair<TProducts, TScales>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TProducts : struct, IQ8_0Products
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        long columns = Columns;
        var xq = q.Values + ((long)token * columns);
        var xs = q.Scales + ((long)token * blocks);
        var offsets = q.ByteOffsets + ((long)token * blocks);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
        for (var b = 0; b < blocks; b++)
        {
            PrefetchShare(prefetch, prefetchLines, b, blocks);

            var blockA = first + (b * stride) + InterleavedLayout.ScaleBytes;
            var blockB = second + (b * stride) + InterleavedLayout.ScaleBytes;
            var x = xq + (b * 32);
            Vector256<int> d0 = TProducts.Start(offsets[b]), e0 = d0;
            Vector256<int> d1 = TProducts.Start(offsets[blocks + b]), e1 = d1;
            Vector256<int> d2 = TProducts.Start(offsets[(2 * blocks) + b]), e2 = d2;
            Vector256<int> d3 = TProducts.Start(offsets[(3 * blocks) + b]), e3 = d3;
            Vector256<int> d4 = TProducts.Start(offsets[(4 * blocks) + b]), e4 = d4;
            Vector256<int> d5 = TProducts.Start(offsets[(5 * blocks) + b]), e5 = d5;
            Vector256<int> d6 = TProducts.Start(offsets[(6 * blocks) + b]), e6 = d6;
            Vector256<int> d7 = TProducts.Start(offsets[(7 * blocks) + b]), e7 = d7;
            for (var k = 0; k < 8; k++)
            {
                var wA = Vector256.Load(blockA + (k * 32));
                var wB = Vector256.Load(blockB + (k * 32));
                var oA = TProducts.Operand(wA);
                var oB = TProducts.Operand(wB);
                var xk = x + (4 * k);
                Tokens2<TProducts>(wA, oA, wB, oB, xk, columns, 0, ref d0, ref e0, ref d1, ref e1);
                Tokens2<TProducts>(wA, oA, wB, oB, xk, columns, 2, ref d2, ref e2, ref d3, ref e3);
                Tokens2<TProducts>(wA, oA, wB, oB, xk, columns, 4, ref d4, ref e4, ref d5, ref e5);
                Tokens2<TProducts>(wA, oA, wB, oB, xk, columns, 6, ref d6, ref e6, ref d7, ref e7);
            }

            var scale = TScales.Load8(first + (b * stride), 0).ToVector512Unsafe().WithUpper(TScales.Load8(second + (b * stride), 0));
            a0 = Scaled(d0, e0, scale, xs[b], a0);
            a1 = Scaled(d1, e1, scale, xs[blocks + b], a1);
            a2 = Scaled(d2, e2, scale, xs[(2 * blocks) + b], a2);
            a3 = Scaled(d3, e3, scale, xs[(3 * blocks) + b], a3);
            a4 = Scaled(d4, e4, scale, xs[(4 * blocks) + b], a4);
            a5 = Scaled(d5, e5, scale, xs[(5 * blocks) + b], a5);
            a6 = Scaled(d6, e6, scale, xs[(6 * blocks) + b], a6);
            a7 = Scaled(d7, e7, scale, xs[(7 * blocks) + b], a7);
        }

        StoreEightTokens(y, ldy, a0, a1, a2, a3, a4, a5, a6, a7);
    }

    protected override void Group2x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int ldy, int sectionRows)
    {
        if (_vnni)
        {
            Group2x4<OffsetBinaryProducts>(group, sectionBytes, q, token, y, ldy, sectionRows);
        }
        else
        {
            Group2x4<SignedProducts>(group, sectionBytes, q, token, y, ldy, sectionRows);
        }
    }

    private void Group2x4<TProducts>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int ldy, int sectionRows)
        where TProducts : struct, IQ8_0Products
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group2x4<TProducts, F16NormalRowLoader>(group, sectionBytes, q, token, y, ldy, sectionRows);
                break;
            case BlockScaleForm.Finite:
                Group2x4<TProducts, F16FiniteRowLoader>(group, sectionBytes, q, token, y, ldy, sectionRows);
                break;
            default:
                Group2x4<TProducts, F16RowLoader>(group, sectionBytes, q, token, y, ldy, sectionRows);
                break;
        }
    }

    /// <summary>
    /// Two tokens over four row groups a section apart: each weight chunk is loaded once for both tokens (with
    /// <see cref="Group1x4{TProducts, TScales}"/> once per token, the second pass re-read every chunk from L2 and repeated the
    /// block's loads and address arithmetic), and sections are scaled in pairs in 512-bit vectors. Per output the
    /// operations are <see cref="Group1x4{TProducts, TScales}"/>'s.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Group2x4<TProducts, TScales>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int ldy, int sectionRows)
        where TProducts : struct, IQ8_0Products
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var x0 = q.Values + ((long)token * Columns);
        var x1 = x0 + Columns;
        var xs = q.Scales + ((long)token * blocks);
        var offsets = q.ByteOffsets + ((long)token * blocks);
        var g0 = group;
        var g1 = g0 + sectionBytes;
        var g2 = g1 + sectionBytes;
        var g3 = g2 + sectionBytes;
        Vector512<float> a01 = default, a23 = default, b01 = default, b23 = default;
        for (var b = 0; b < blocks; b++)
        {
            var o = b * stride;
            PrefetchStreams(g0, g1, g2, g3, o + StreamPrefetchBytes, stride);
            var offsetA = TProducts.Start(offsets[b]);
            var offsetB = TProducts.Start(offsets[blocks + b]);
            Vector256<int> d0 = offsetA, d1 = offsetA, d2 = offsetA, d3 = offsetA;
            Vector256<int> e0 = offsetB, e1 = offsetB, e2 = offsetB, e3 = offsetB;
            var x = b * 32;
            for (var k = 0; k < 8; k++)
            {
                var c = o + InterleavedLayout.ScaleBytes + (k * 32);
                var w0 = Vector256.Load(g0 + c);
                var w1 = Vector256.Load(g1 + c);
                var w2 = Vector256.Load(g2 + c);
                var w3 = Vector256.Load(g3 + c);
                var o0 = TProducts.Operand(w0);
                var o1 = TProducts.Operand(w1);
                var o2 = TProducts.Operand(w2);
                var o3 = TProducts.Operand(w3);
                var xa = Broadcast(x0 + x + (4 * k));
                var xb = Broadcast(x1 + x + (4 * k));
                d0 = TProducts.Accumulate(d0, w0, o0, xa);
                e0 = TProducts.Accumulate(e0, w0, o0, xb);
                d1 = TProducts.Accumulate(d1, w1, o1, xa);
                e1 = TProducts.Accumulate(e1, w1, o1, xb);
                d2 = TProducts.Accumulate(d2, w2, o2, xa);
                e2 = TProducts.Accumulate(e2, w2, o2, xb);
                d3 = TProducts.Accumulate(d3, w3, o3, xa);
                e3 = TProducts.Accumulate(e3, w3, o3, xb);
            }

            var scale01 = TScales.Load8(g0 + o, 0).ToVector512Unsafe().WithUpper(TScales.Load8(g1 + o, 0));
            var scale23 = TScales.Load8(g2 + o, 0).ToVector512Unsafe().WithUpper(TScales.Load8(g3 + o, 0));
            a01 = Scaled(d0, d1, scale01, xs[b], a01);
            a23 = Scaled(d2, d3, scale23, xs[b], a23);
            b01 = Scaled(e0, e1, scale01, xs[blocks + b], b01);
            b23 = Scaled(e2, e3, scale23, xs[blocks + b], b23);
        }

        a01.GetLower().Store(y);
        a01.GetUpper().Store(y + sectionRows);
        a23.GetLower().Store(y + (2 * sectionRows));
        a23.GetUpper().Store(y + (3 * sectionRows));
        b01.GetLower().Store(y + ldy);
        b01.GetUpper().Store(y + ldy + sectionRows);
        b23.GetLower().Store(y + ldy + (2 * sectionRows));
        b23.GetUpper().Store(y + ldy + (3 * sectionRows));
    }

    /// <summary>Tokens <paramref name="t"/> and <paramref name="t"/> + 1 (a constant where inlined) against one
    /// chunk of both groups.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tokens2<TProducts>(Vector256<byte> wA, Vector256<byte> oA, Vector256<byte> wB, Vector256<byte> oB, sbyte* xk, long columns, int t,
        ref Vector256<int> dFirst, ref Vector256<int> eFirst, ref Vector256<int> dSecond, ref Vector256<int> eSecond)
        where TProducts : struct, IQ8_0Products
    {
        var x = Broadcast(xk + (t * columns));
        dFirst = TProducts.Accumulate(dFirst, wA, oA, x);
        eFirst = TProducts.Accumulate(eFirst, wB, oB, x);
        x = Broadcast(xk + ((t + 1) * columns));
        dSecond = TProducts.Accumulate(dSecond, wA, oA, x);
        eSecond = TProducts.Accumulate(eSecond, wB, oB, x);
    }

    /// <summary>Two row groups' block sums for one token (<paramref name="low"/> the first eight rows) converted,
    /// scaled and added to the accumulator, in <see cref="Group4{TProducts, TScales}"/>'s order of operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scaled(Vector256<int> low, Vector256<int> high, Vector512<float> scale, float activationScale, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(low.ToVector512Unsafe().WithUpper(high)), scale * Vector512.Create(activationScale), acc);
}
