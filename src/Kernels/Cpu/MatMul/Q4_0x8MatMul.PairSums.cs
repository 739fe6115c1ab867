using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

// Q4_0x8MatMul, part: the one-token kernel and four-token tile for CPUs with AVX2 but neither AVX-VNNI nor AVX-512BW
// (AMD Zen 2 and 3, Intel before Alder Lake's client cores), products into 16-bit lanes as the 512-bit kernels do.
internal sealed unsafe partial class Q4_0x8MatMul
{
    /// <summary>
    /// One token over four row groups a section apart on 256-bit vectors: per chunk and group, vpmaddubsw of the low
    /// and the high nibbles against four broadcast activations each, added in 16-bit lanes (a block's eight product
    /// pairs sum to at most 8 · 2 · 15 · 127 = 30,480), and one vpmaddwd per block widens them to the rows' int32
    /// sums, which equal <see cref="DotProduct1x4{TScales}"/>'s. (<see cref="IntegerDot"/>'s vpmaddubsw + vpmaddwd per
    /// 32 products would double the multiplies, and <see cref="DotProduct1x4{TScales}"/>'s in-place high nibbles,
    /// up to 240, would saturate vpmaddubsw.) No software prefetches, as in the 512-bit form
    /// (<see cref="WideSections{TScales, TTokens}"/>): on the Zen 4 machine with 512-bit vectors turned off this form
    /// read 32.8–34.2 GB/s without them against 30.6–30.7 with them in slow-memory minutes (probe ≈ 35 GB/s).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PairSums1x4<TScales>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var xq = q.Values + ((long)token * Columns);
        var scales = q.Scales + ((long)token * Blocks);
        var offsets = q.NibbleOffsets + ((long)token * Blocks);
        var g0 = group;
        var g1 = g0 + sectionBytes;
        var g2 = g1 + sectionBytes;
        var g3 = g2 + sectionBytes;
        var mask = Vector256.Create((byte)0x0F);
        var ones = Vector256<short>.One;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var o = b * stride;
            var x = xq + (b * 32);
            Vector256<short> d0 = default, d1 = default, d2 = default, d3 = default;
            for (var k = 0; k < 4; k++)
            {
                var c = o + InterleavedLayout.ScaleBytes + (k * 32);
                var xl = Broadcast(x + (8 * k));
                var xh = Broadcast(x + (8 * k) + 4);
                d0 += NibbleChunks.PairSums(Vector256.Load(g0 + c), mask, xl, xh);
                d1 += NibbleChunks.PairSums(Vector256.Load(g1 + c), mask, xl, xh);
                d2 += NibbleChunks.PairSums(Vector256.Load(g2 + c), mask, xl, xh);
                d3 += NibbleChunks.PairSums(Vector256.Load(g3 + c), mask, xl, xh);
            }

            var offset = Vector256.Create(offsets[b]);
            var xs = Vector256.Create(scales[b]);
            a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(d0, ones) + offset), TScales.Load8(g0 + o, 0) * xs, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(d1, ones) + offset), TScales.Load8(g1 + o, 0) * xs, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(d2, ones) + offset), TScales.Load8(g2 + o, 0) * xs, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(d3, ones) + offset), TScales.Load8(g3 + o, 0) * xs, a3);
        }

        a0.Store(y);
        a1.Store(y + sectionRows);
        a2.Store(y + (2 * sectionRows));
        a3.Store(y + (3 * sectionRows));
    }

    /// <summary>
    /// Sixteen rows × four tokens on 256-bit vectors with 16-bit partial sums: per chunk and token, vpmaddubsw of both
    /// groups' low and high nibbles against the token's broadcast activations, added in 16-bit lanes, and one
    /// vpmaddwd per block, token and group widens them (the same int32 sums as <see cref="Group4{TScales}"/>'s, scaled
    /// by the same operations, so the same bits). <see cref="IntegerDot"/>'s vpmaddubsw + vpmaddwd per 32 products
    /// did twice the multiplies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PairSums4Pair<TScales>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        long columns = Columns;
        var x0 = q.Values + ((long)token * columns);
        var s0 = q.Scales + ((long)token * blocks);
        var offsets = q.NibbleOffsets + ((long)token * blocks);
        var mask = Vector256.Create((byte)0x0F);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var b = 0; b < blocks; b++)
        {
            PrefetchShare(prefetch, prefetchLines, b, blocks);

            var blockA = first + (b * stride);
            var blockB = second + (b * stride);
            var x = x0 + (b * 32);
            Vector256<short> d0 = default, d1 = default, d2 = default, d3 = default;
            Vector256<short> e0 = default, e1 = default, e2 = default, e3 = default;
            for (var k = 0; k < 4; k++)
            {
                var rawA = Vector256.Load(blockA + InterleavedLayout.ScaleBytes + (k * 32));
                var rawB = Vector256.Load(blockB + InterleavedLayout.ScaleBytes + (k * 32));
                var lowA = rawA & mask;
                var highA = NibbleChunks.High(rawA);
                var lowB = rawB & mask;
                var highB = NibbleChunks.High(rawB);
                var xk = x + (8 * k);
                Pairs(lowA, highA, lowB, highB, xk, ref d0, ref e0);
                Pairs(lowA, highA, lowB, highB, xk + columns, ref d1, ref e1);
                Pairs(lowA, highA, lowB, highB, xk + (2 * columns), ref d2, ref e2);
                Pairs(lowA, highA, lowB, highB, xk + (3 * columns), ref d3, ref e3);
            }

            var scaleA = TScales.Load8(blockA, 0);
            var scaleB = TScales.Load8(blockB, 0);
            a0 = Scaled(d0, offsets[b], scaleA, s0[b], a0);
            b0 = Scaled(e0, offsets[b], scaleB, s0[b], b0);
            a1 = Scaled(d1, offsets[blocks + b], scaleA, s0[blocks + b], a1);
            b1 = Scaled(e1, offsets[blocks + b], scaleB, s0[blocks + b], b1);
            a2 = Scaled(d2, offsets[(2 * blocks) + b], scaleA, s0[(2 * blocks) + b], a2);
            b2 = Scaled(e2, offsets[(2 * blocks) + b], scaleB, s0[(2 * blocks) + b], b2);
            a3 = Scaled(d3, offsets[(3 * blocks) + b], scaleA, s0[(3 * blocks) + b], a3);
            b3 = Scaled(e3, offsets[(3 * blocks) + b], scaleB, s0[(3 * blocks) + b], b3);
        }

        StoreTile(y, ldy, pair: true, a0, a1, a2, a3, b0, b1, b2, b3);
    }

    /// <summary>One token's 16-bit pair sums for one chunk of both groups.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pairs(Vector256<byte> lowA, Vector256<byte> highA, Vector256<byte> lowB, Vector256<byte> highB, sbyte* x,
        ref Vector256<short> first, ref Vector256<short> second)
    {
        var xl = Broadcast(x);
        var xh = Broadcast(x + 4);
        first += Avx2.MultiplyAddAdjacent(lowA, xl) + Avx2.MultiplyAddAdjacent(highA, xh);
        second += Avx2.MultiplyAddAdjacent(lowB, xl) + Avx2.MultiplyAddAdjacent(highB, xh);
    }

    /// <summary>Widens one token's pair sums to the rows' int32 block sums, applies the −8 offset and adds the scaled
    /// block, in <see cref="Group4{TScales}"/>'s order of operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scaled(Vector256<short> pairs, int offset, Vector256<float> scale, float activationScale, Vector256<float> acc)
    {
        var dot = Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One) + Vector256.Create(offset);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), scale * Vector256.Create(activationScale), acc);
    }
}
