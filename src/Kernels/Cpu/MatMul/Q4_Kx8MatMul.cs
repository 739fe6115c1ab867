using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q4_K weights repacked once into the <see cref="InterleavedLayout"/>'s row groups, one block per 256-column
/// super-block (1,184 bytes per 8 rows): the eight rows' fp16 d, then their fp16 dmin, then per sub-block j the eight
/// rows' 6-bit scales as bytes (so one zero-extending load gives a sub-block's eight scales), then likewise the
/// minimums, then per sub-block four 32-byte chunks of nibbles arranged as Q4_0's (<see cref="Q4_0x8MatMul"/>: in
/// chunk k, byte 4r+c holds row r's value 8k+c of the sub-block in its low nibble and 8k+4+c in its high nibble).
/// The scales unpacked to bytes make the block 32 bytes (2.8 %) larger than the stored one; unpacking the 6-bit field
/// and transposing it for eight rows in the kernels would cost more than those bytes.
/// </summary>
/// <remarks>
/// Each sub-block of 32 weights lines up with one int8 activation block, so its product with the eight rows is
/// dx·(d·sc·Σq·x − dmin·m·Σx): the nibbles' products go into 16-bit lanes through vpmaddubsw (a sub-block's eight
/// product pairs sum to at most 8 · 2 · 15 · 127 = 30,480), one vpmaddwd widens them to the rows' int32 sums, and per
/// sub-block and token one FMA adds the scaled sum and one subtracts the minimum's share, in that order in every
/// kernel, so a token's outputs do not depend on the batch. Without AVX-VNNI this is the only way to the int32 sums,
/// and with it the 16-bit sums save a multiply per 32 products.
/// </remarks>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal sealed unsafe class Q4_Kx8MatMul : SuperBlockInterleavedMatMul
{
    /// <summary>Bytes of one row group's super-block: header and nibbles.</summary>
    internal const int GroupBlockBytesQ4_K = HeaderBytes + (8 * 128);

    private const int MinimumsOffset = 32 + 64;

    private const int HeaderBytes = MinimumsOffset + 64;

    /// <param name="weight">The stored Q4_K matrix.</param>
    /// <param name="arena">Where the repacked matrix goes; null: an allocation of its own.</param>
    public Q4_Kx8MatMul(WeightTensor weight, WeightArena? arena = null)
        : base(weight, GroupBlockBytesQ4_K, arena)
    {
        RepackGroups();
    }

    /// <summary>One token over one row group, or (<typeparamref name="TGroups"/> = <see cref="SeveralRowGroups"/>) four groups
    /// <paramref name="sectionBytes"/> apart read in step, their outputs <paramref name="sectionRows"/> apart.
    /// The streams are left to the hardware prefetchers, as in Q4_0's pair-sum one-token kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void OneToken<TGroups>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
    {
        var stride = GroupBlockBytes;
        var subBlocks = Columns / 32;
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * subBlocks);
        var sums = q.Sums + ((long)token * subBlocks);
        var g0 = group;
        var g1 = g0 + sectionBytes;
        var g2 = g1 + sectionBytes;
        var g3 = g2 + sectionBytes;
        var mask = Vector256.Create((byte)0x0F);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var o = s * stride;
            Units(g0 + o, out var d0, out var dmin0);
            Vector256<float> d1 = default, dmin1 = default, d2 = default, dmin2 = default, d3 = default, dmin3 = default;
            if (TGroups.Several)
            {
                Units(g1 + o, out d1, out dmin1);
                Units(g2 + o, out d2, out dmin2);
                Units(g3 + o, out d3, out dmin3);
            }

            for (var j = 0; j < 8; j++)
            {
                var c = o + HeaderBytes + (j * 128);
                var x = xq + (s * 256) + (j * 32);
                Vector256<short> p0 = default, p1 = default, p2 = default, p3 = default;
                for (var k = 0; k < 4; k++)
                {
                    var xl = Broadcast(x + (8 * k));
                    var xh = Broadcast(x + (8 * k) + 4);
                    p0 += NibbleChunks.PairSums(Vector256.Load(g0 + c + (32 * k)), mask, xl, xh);
                    if (TGroups.Several)
                    {
                        p1 += NibbleChunks.PairSums(Vector256.Load(g1 + c + (32 * k)), mask, xl, xh);
                        p2 += NibbleChunks.PairSums(Vector256.Load(g2 + c + (32 * k)), mask, xl, xh);
                        p3 += NibbleChunks.PairSums(Vector256.Load(g3 + c + (32 * k)), mask, xl, xh);
                    }
                }

                var b = (s * 8) + j;
                var dx = Vector256.Create(xs[b]);
                var minimumX = Vector256.Create(xs[b] * sums[b]);
                a0 = Accumulate(a0, p0, SubBlockScales(g0 + o, j, d0), SubBlockMinimums(g0 + o, j, dmin0), dx, minimumX);
                if (TGroups.Several)
                {
                    a1 = Accumulate(a1, p1, SubBlockScales(g1 + o, j, d1), SubBlockMinimums(g1 + o, j, dmin1), dx, minimumX);
                    a2 = Accumulate(a2, p2, SubBlockScales(g2 + o, j, d2), SubBlockMinimums(g2 + o, j, dmin2), dx, minimumX);
                    a3 = Accumulate(a3, p3, SubBlockScales(g3 + o, j, d3), SubBlockMinimums(g3 + o, j, dmin3), dx, minimumX);
                }
            }
        }

        a0.Store(y);
        if (TGroups.Several)
        {
            a1.Store(y + sectionRows);
            a2.Store(y + (2 * sectionRows));
            a3.Store(y + (3 * sectionRows));
        }
    }

    /// <summary>Four tokens over one row group, or (<typeparamref name="TGroups"/> = <see cref="SeveralRowGroups"/>) two
    /// adjacent groups sharing each broadcast activation word; each group's sub-block scales and minimums are
    /// computed once for the four tokens. Prefetches <paramref name="prefetchLines"/> lines from
    /// <paramref name="prefetch"/> spread over the sub-blocks (<see cref="InterleavedMatMul.PrefetchShare"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Tile<TGroups>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        var stride = GroupBlockBytes;
        var subBlocks = Columns / 32;
        long columns = Columns;
        var x0 = q.Values + ((long)token * columns);
        var xs = q.Scales + ((long)token * subBlocks);
        var sums = q.Sums + ((long)token * subBlocks);
        var mask = Vector256.Create((byte)0x0F);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var blockA = first + (s * stride);
            var blockB = second + (s * stride);
            Units(blockA, out var dA, out var dminA);
            Vector256<float> dB = default, dminB = default;
            if (TGroups.Several)
            {
                Units(blockB, out dB, out dminB);
            }

            for (var j = 0; j < 8; j++)
            {
                PrefetchShare(prefetch, prefetchLines, (s * 8) + j, subBlocks);
                var c = HeaderBytes + (j * 128);
                var x = x0 + (s * 256) + (j * 32);
                Vector256<short> p0 = default, p1 = default, p2 = default, p3 = default;
                Vector256<short> q0 = default, q1 = default, q2 = default, q3 = default;
                for (var k = 0; k < 4; k++)
                {
                    var rawA = Vector256.Load(blockA + c + (32 * k));
                    var lowA = rawA & mask;
                    var highA = (rawA.AsUInt16() >>> 4).AsByte() & mask;
                    var rawB = TGroups.Several ? Vector256.Load(blockB + c + (32 * k)) : default;
                    var lowB = rawB & mask;
                    var highB = (rawB.AsUInt16() >>> 4).AsByte() & mask;
                    var xk = x + (8 * k);
                    Products<TGroups>(lowA, highA, lowB, highB, xk, ref p0, ref q0);
                    Products<TGroups>(lowA, highA, lowB, highB, xk + columns, ref p1, ref q1);
                    Products<TGroups>(lowA, highA, lowB, highB, xk + (2 * columns), ref p2, ref q2);
                    Products<TGroups>(lowA, highA, lowB, highB, xk + (3 * columns), ref p3, ref q3);
                }

                var scalesA = SubBlockScales(blockA, j, dA);
                var minimumsA = SubBlockMinimums(blockA, j, dminA);
                var scalesB = TGroups.Several ? SubBlockScales(blockB, j, dB) : default;
                var minimumsB = TGroups.Several ? SubBlockMinimums(blockB, j, dminB) : default;
                var b = (s * 8) + j;
                Tokens<TGroups>(p0, q0, scalesA, minimumsA, scalesB, minimumsB, xs[b], sums[b], ref a0, ref b0);
                Tokens<TGroups>(p1, q1, scalesA, minimumsA, scalesB, minimumsB, xs[subBlocks + b], sums[subBlocks + b], ref a1, ref b1);
                Tokens<TGroups>(p2, q2, scalesA, minimumsA, scalesB, minimumsB, xs[(2 * subBlocks) + b], sums[(2 * subBlocks) + b], ref a2, ref b2);
                Tokens<TGroups>(p3, q3, scalesA, minimumsA, scalesB, minimumsB, xs[(3 * subBlocks) + b], sums[(3 * subBlocks) + b], ref a3, ref b3);
            }
        }

        StoreTile(y, ldy, TGroups.Several, a0, a1, a2, a3, b0, b1, b2, b3);
    }

    /// <summary>One token's products with one chunk of the first group and, where <typeparamref name="TGroups"/>
    /// says so, the second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Products<TGroups>(Vector256<byte> lowA, Vector256<byte> highA, Vector256<byte> lowB, Vector256<byte> highB, sbyte* x,
        ref Vector256<short> first, ref Vector256<short> second)
        where TGroups : struct, IRowGroups
    {
        var xl = Broadcast(x);
        var xh = Broadcast(x + 4);
        first += Avx2.MultiplyAddAdjacent(lowA, xl) + Avx2.MultiplyAddAdjacent(highA, xh);
        if (TGroups.Several)
        {
            second += Avx2.MultiplyAddAdjacent(lowB, xl) + Avx2.MultiplyAddAdjacent(highB, xh);
        }
    }

    /// <summary>One token's sub-block sums of one or two groups added to their accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tokens<TGroups>(Vector256<short> first, Vector256<short> second, Vector256<float> scalesA, Vector256<float> minimumsA,
        Vector256<float> scalesB, Vector256<float> minimumsB, float activationScale, int activationSum, ref Vector256<float> accA, ref Vector256<float> accB)
        where TGroups : struct, IRowGroups
    {
        var dx = Vector256.Create(activationScale);
        var minimumX = Vector256.Create(activationScale * activationSum);
        accA = Accumulate(accA, first, scalesA, minimumsA, dx, minimumX);
        if (TGroups.Several)
        {
            accB = Accumulate(accB, second, scalesB, minimumsB, dx, minimumX);
        }
    }

    /// <summary>acc + Σq·x · (d·sc) · dx − (dmin·m) · (dx·Σx) for one sub-block of eight rows, the same operations in
    /// every kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Accumulate(Vector256<float> acc, Vector256<short> pairs, Vector256<float> scales, Vector256<float> minimums, Vector256<float> dx, Vector256<float> minimumX)
    {
        var dot = Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One));
        acc = Vector256.FusedMultiplyAdd(dot, scales * dx, acc);
        return Fma.MultiplyAddNegated(minimums, minimumX, acc);
    }

    /// <summary>d·sc of sub-block <paramref name="j"/> for the eight rows of the group block at
    /// <paramref name="block"/>, given their d (<see cref="Units"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SubBlockScales(byte* block, int j, Vector256<float> d) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(block + 32 + (8 * j))) * d;

    /// <summary>dmin·m of sub-block <paramref name="j"/> for the eight rows, given their dmin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SubBlockMinimums(byte* block, int j, Vector256<float> dmin) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(block + MinimumsOffset + (8 * j))) * dmin;

    /// <summary>The eight rows' d and dmin of the group block at <paramref name="block"/>, converted once per
    /// super-block (any fp16 value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Units(byte* block, out Vector256<float> d, out Vector256<float> dmin)
    {
        d = F16RowLoader.Load8(block, 0);
        dmin = F16RowLoader.Load8(block + 16, 0);
    }

    /// <summary>Stored sub-blocks 2i and 2i+1 are the low and high nibbles of the same 32 bytes; with A and B the
    /// four-byte words at 8k and 8k+4 of them, chunk k of the even sub-block is A's and B's low nibbles and of the odd
    /// one their high nibbles.</summary>
    protected override void RepackGroup(int group)
    {
        var source = (byte*)Weight.Data;
        var rowBytes = Weight.RowBytes;
        Span<byte> scales = stackalloc byte[KQuantScales.SubBlocks];
        Span<byte> minimums = stackalloc byte[KQuantScales.SubBlocks];
        for (var s = 0; s < Blocks; s++)
        {
            var destination = GroupStart(group) + (s * GroupBlockBytes);
            for (var r = 0; r < InterleavedLayout.Rows; r++)
            {
                var block = source + (((long)group * InterleavedLayout.Rows) + r) * rowBytes + (s * Q4_K.BlockBytes);
                ((ushort*)destination)[r] = *(ushort*)block;
                ((ushort*)(destination + 16))[r] = *(ushort*)(block + 2);
                KQuantScales.Unpack(new ReadOnlySpan<byte>(block + 4, KQuantScales.PackedBytes), scales, minimums);
                for (var j = 0; j < KQuantScales.SubBlocks; j++)
                {
                    destination[32 + (8 * j) + r] = scales[j];
                    destination[MinimumsOffset + (8 * j) + r] = minimums[j];
                }

                var quants = block + Q4_K.QuantsOffset;
                for (var i = 0; i < 4; i++)
                {
                    var even = (uint*)(destination + HeaderBytes + (2 * i * 128)) + r;
                    var odd = (uint*)(destination + HeaderBytes + (((2 * i) + 1) * 128)) + r;
                    for (var k = 0; k < 4; k++)
                    {
                        NibbleChunks.Interleave(
                            Unsafe.ReadUnaligned<uint>(quants + (32 * i) + (8 * k)),
                            Unsafe.ReadUnaligned<uint>(quants + (32 * i) + (8 * k) + 4),
                            out even[8 * k],
                            out odd[8 * k]);
                    }
                }
            }
        }
    }
}
