using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q4_K and Q5_K weights repacked once into the <see cref="InterleavedLayout"/>'s row groups, one block per
/// 256-column super-block (Q4_K 1,184 bytes per 8 rows, Q5_K 1,440): the eight rows' fp16 d, then their fp16 dmin,
/// then per 32-weight sub-block: the eight rows' 6-bit scales as bytes (one zero-extending load gives the eight),
/// likewise their minimums, four 32-byte chunks of the values' low four bits arranged as Q4_0's
/// (<see cref="NibbleChunks"/>: in chunk k, byte 4r+c holds row r's value 8k+c of the sub-block in its low nibble and
/// 8k+4+c in its high nibble) and, for Q5_K, 32 bytes of fifth bits (byte 4r+c: bit k that of the low nibble's value
/// of chunk k, bit 4+k that of the high nibble's, so one 16-bit shift and mask per half chunk moves it to bit 4).
/// Each sub-block's scales sit just before its values, so every stream is read front to back: with all of a
/// super-block's scales ahead of its values, one core's one-token products over Q5_K read 16.5–17.5 GB/s from L3
/// instead of 19–20 (Q4_K 21–22 against 22–24). Unpacking the 6-bit scales to bytes makes the block 32 bytes (2.2–2.8 %)
/// larger than the stored one; unpacking and transposing them for eight rows in the kernels would cost more.
/// </summary>
/// <remarks>
/// Each sub-block of 32 weights lines up with one int8 activation block, so its product with the eight rows is
/// dx·(d·sc·Σq·x − dmin·m·Σx): the values' products go into 16-bit lanes through vpmaddubsw and vpmaddwd widens them
/// to the rows' int32 sums, once per sub-block for Q4_K (its eight product pairs sum to at most 8 · 2 · 15 · 127 =
/// 30,480) and once per two chunks for Q5_K (whose four pairs reach 4 · 2 · 31 · 127 = 31,496); then per
/// sub-block and token one FMA adds the scaled sum and one subtracts the minimum's share, in that order in every
/// kernel, so a token's outputs do not depend on the batch.
/// </remarks>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF types.")]
internal sealed unsafe partial class AffineKQuantx8MatMul<TLayout> : SuperBlockInterleavedMatMul
    where TLayout : struct, IAffineKQuantLayout
{
    /// <summary>The eight rows' fp16 d, then their fp16 dmin.</summary>
    private const int HeaderBytes = 32;

    /// <summary>Within a sub-block: the eight rows' scales, then their minimums, then the values.</summary>
    private const int ValuesOffset = 16;

    private readonly bool _wide;

    /// <param name="weight">The stored Q4_K or Q5_K matrix.</param>
    /// <param name="wide">Whether to run the 512-bit eight-token tile (<see cref="EightTokens{TUnits}"/>); needs
    /// <see cref="WideSupported"/>.</param>
    /// <param name="arena">Where the repacked matrix goes; null: an allocation of its own.</param>
    public AffineKQuantx8MatMul(WeightTensor weight, bool wide, WeightArena? arena = null)
        : base(weight, PackedGroupBlockBytes, arena)
    {
        if (wide && !WideSupported)
        {
            throw new PlatformNotSupportedException($"the 512-bit {weight.Type} tile needs AVX-512BW");
        }

        _wide = wide;
        Repack();
    }

    /// <summary>Whether this CPU runs the 512-bit eight-token tile: 512-bit vectors with byte and word operations.
    /// (A 512-bit one-token form, two sections' groups per vector, read no faster on Zen 4: one core's Q4_K products
    /// from L3 22–23 GB/s either way, Q5_K 15–18 against 17–19.)</summary>
    public static bool WideSupported => IntegerDot.IsSupported && Vector512.IsHardwareAccelerated && Avx512BW.IsSupported;

    protected override bool EightTokenTiles => _wide;

    /// <summary>Bytes of one row group's super-block: header and values.</summary>
    internal static int PackedGroupBlockBytes => HeaderBytes + (8 * SubBlockBytes);

    /// <summary>Bytes of one sub-block for eight rows: scales, minimums, the nibble chunks and, for Q5_K, the fifth
    /// bits.</summary>
    private static int SubBlockBytes
    {
        // Inlined into the kernels' loops: as a call it made the JIT spill every live vector register around it.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => TLayout.HasFifthBits ? ValuesOffset + 160 : ValuesOffset + 128;
    }

    /// <summary>The streams are left to the hardware prefetchers, as in Q4_0's pair-sum one-token kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void OneToken<TGroups, TUnits>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
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
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var o = s * stride;
            Units<TUnits>(g0 + o, out var d0, out var dmin0);
            Vector256<float> d1 = default, dmin1 = default, d2 = default, dmin2 = default, d3 = default, dmin3 = default;
            if (TGroups.Several)
            {
                Units<TUnits>(g1 + o, out d1, out dmin1);
                Units<TUnits>(g2 + o, out d2, out dmin2);
                Units<TUnits>(g3 + o, out d3, out dmin3);
            }

            for (var j = 0; j < 8; j++)
            {
                var c = o + HeaderBytes + (j * SubBlockBytes) + ValuesOffset;
                var x = xq + (s * 256) + (j * 32);
                Sum p0 = default, p1 = default, p2 = default, p3 = default;
                var bits0 = FifthBitsOf(g0 + c);
                var bits1 = TGroups.Several ? FifthBitsOf(g1 + c) : default;
                var bits2 = TGroups.Several ? FifthBitsOf(g2 + c) : default;
                var bits3 = TGroups.Several ? FifthBitsOf(g3 + c) : default;
                for (var k = 0; k < 4; k++)
                {
                    var xl = Broadcast(x + (8 * k));
                    var xh = Broadcast(x + (8 * k) + 4);
                    Chunk(g0 + c, k, bits0, out var low, out var high);
                    p0.Add(low, high, xl, xh, k);
                    if (TGroups.Several)
                    {
                        Chunk(g1 + c, k, bits1, out low, out high);
                        p1.Add(low, high, xl, xh, k);
                        Chunk(g2 + c, k, bits2, out low, out high);
                        p2.Add(low, high, xl, xh, k);
                        Chunk(g3 + c, k, bits3, out low, out high);
                        p3.Add(low, high, xl, xh, k);
                    }
                }

                var b = (s * 8) + j;
                var dx = Vector256.Create(xs[b]);
                var minimumX = Vector256.Create(xs[b] * sums[b]);
                a0 = Accumulate(a0, p0.Total, SubBlockScales(g0 + o, j, d0), SubBlockMinimums(g0 + o, j, dmin0), dx, minimumX);
                if (TGroups.Several)
                {
                    a1 = Accumulate(a1, p1.Total, SubBlockScales(g1 + o, j, d1), SubBlockMinimums(g1 + o, j, dmin1), dx, minimumX);
                    a2 = Accumulate(a2, p2.Total, SubBlockScales(g2 + o, j, d2), SubBlockMinimums(g2 + o, j, dmin2), dx, minimumX);
                    a3 = Accumulate(a3, p3.Total, SubBlockScales(g3 + o, j, d3), SubBlockMinimums(g3 + o, j, dmin3), dx, minimumX);
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

    /// <summary>Each group's chunks are unpacked, and its sub-block scales and minimums computed, once for the four
    /// tokens; with a pair, each broadcast activation word serves both groups.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Tile<TGroups, TUnits>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        var stride = GroupBlockBytes;
        var subBlocks = Columns / 32;
        long columns = Columns;
        var x0 = q.Values + ((long)token * columns);
        var xs = q.Scales + ((long)token * subBlocks);
        var sums = q.Sums + ((long)token * subBlocks);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var blockA = first + (s * stride);
            var blockB = second + (s * stride);
            Units<TUnits>(blockA, out var dA, out var dminA);
            Vector256<float> dB = default, dminB = default;
            if (TGroups.Several)
            {
                Units<TUnits>(blockB, out dB, out dminB);
            }

            for (var j = 0; j < 8; j++)
            {
                PrefetchShare(prefetch, prefetchLines, (s * 8) + j, subBlocks);
                var c = HeaderBytes + (j * SubBlockBytes) + ValuesOffset;
                var x = x0 + (s * 256) + (j * 32);
                Sum p0 = default, p1 = default, p2 = default, p3 = default;
                Sum q0 = default, q1 = default, q2 = default, q3 = default;
                var bitsA = FifthBitsOf(blockA + c);
                var bitsB = TGroups.Several ? FifthBitsOf(blockB + c) : default;
                for (var k = 0; k < 4; k++)
                {
                    Chunk(blockA + c, k, bitsA, out var lowA, out var highA);
                    Vector256<byte> lowB = default, highB = default;
                    if (TGroups.Several)
                    {
                        Chunk(blockB + c, k, bitsB, out lowB, out highB);
                    }

                    var xk = x + (8 * k);
                    Products<TGroups>(lowA, highA, lowB, highB, xk, k, ref p0, ref q0);
                    Products<TGroups>(lowA, highA, lowB, highB, xk + columns, k, ref p1, ref q1);
                    Products<TGroups>(lowA, highA, lowB, highB, xk + (2 * columns), k, ref p2, ref q2);
                    Products<TGroups>(lowA, highA, lowB, highB, xk + (3 * columns), k, ref p3, ref q3);
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

    /// <summary>Chunk <paramref name="k"/> of the sub-block whose values start at <paramref name="values"/>, as the
    /// bytes of its low and high nibbles' values (Q5_K's fifth bits, <paramref name="bits"/> from
    /// <see cref="FifthBitsOf"/>, moved into bit 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk(byte* values, int k, Vector256<ushort> bits, out Vector256<byte> low, out Vector256<byte> high)
    {
        var mask = Vector256.Create((byte)0x0F);
        var raw = Vector256.Load(values + (32 * k));
        low = raw & mask;
        high = NibbleChunks.High(raw);
        if (TLayout.HasFifthBits)
        {
            var bit4 = Vector256.Create((byte)0x10);
            low |= (bits << (4 - k)).AsByte() & bit4;
            high |= (bits >>> k).AsByte() & bit4;
        }
    }

    /// <summary>The sub-block's fifth-bit vector (Q5_K; loaded once for its four chunks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ushort> FifthBitsOf(byte* values) =>
        TLayout.HasFifthBits ? Vector256.Load(values + 128).AsUInt16() : default;

    /// <summary>One token's products with one chunk of the first group and, where <typeparamref name="TGroups"/>
    /// says so, the second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Products<TGroups>(Vector256<byte> lowA, Vector256<byte> highA, Vector256<byte> lowB, Vector256<byte> highB, sbyte* x, int k,
        ref Sum first, ref Sum second)
        where TGroups : struct, IRowGroups
    {
        var xl = Broadcast(x);
        var xh = Broadcast(x + 4);
        first.Add(lowA, highA, xl, xh, k);
        if (TGroups.Several)
        {
            second.Add(lowB, highB, xl, xh, k);
        }
    }

    /// <summary>One token's sub-block sums of one or two groups added to their accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tokens<TGroups>(Sum first, Sum second, Vector256<float> scalesA, Vector256<float> minimumsA,
        Vector256<float> scalesB, Vector256<float> minimumsB, float activationScale, int activationSum, ref Vector256<float> accA, ref Vector256<float> accB)
        where TGroups : struct, IRowGroups
    {
        var dx = Vector256.Create(activationScale);
        var minimumX = Vector256.Create(activationScale * activationSum);
        accA = Accumulate(accA, first.Total, scalesA, minimumsA, dx, minimumX);
        if (TGroups.Several)
        {
            accB = Accumulate(accB, second.Total, scalesB, minimumsB, dx, minimumX);
        }
    }

    /// <summary>acc + Σq·x · (d·sc) · dx − (dmin·m) · (dx·Σx) for one sub-block of eight rows, the same operations in
    /// every kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Accumulate(Vector256<float> acc, Vector256<int> dot, Vector256<float> scales, Vector256<float> minimums, Vector256<float> dx, Vector256<float> minimumX)
    {
        acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), scales * dx, acc);
        return Fma.MultiplyAddNegated(minimums, minimumX, acc);
    }

    /// <summary>d·sc of sub-block <paramref name="j"/> for the eight rows of the group block at
    /// <paramref name="block"/>, given their d (<see cref="Units"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SubBlockScales(byte* block, int j, Vector256<float> d) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(block + HeaderBytes + (j * SubBlockBytes))) * d;

    /// <summary>dmin·m of sub-block <paramref name="j"/> for the eight rows, given their dmin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SubBlockMinimums(byte* block, int j, Vector256<float> dmin) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(block + HeaderBytes + (j * SubBlockBytes) + 8)) * dmin;

    /// <summary>The eight rows' d and dmin of the group block at <paramref name="block"/>, converted once per
    /// super-block by <typeparamref name="TUnits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Units<TUnits>(byte* block, out Vector256<float> d, out Vector256<float> dmin)
        where TUnits : struct, IFloatRowLoader
    {
        d = TUnits.Load8(block, 0);
        dmin = TUnits.Load8(block + 16, 0);
    }

    /// <summary>The sixteen units: the eight rows' d, then their dmin.</summary>
    protected override int ScaleUnits => 2 * InterleavedLayout.Rows;

    /// <summary>A zero d takes its row's sub-block scales to zero, a zero dmin its minimums: unit u's byte in every
    /// sub-block is byte u, as the scales come before the minimums.</summary>
    protected override void ZeroScaled(byte* block, int unit)
    {
        for (var j = 0; j < KQuantScales.SubBlocks; j++)
        {
            block[HeaderBytes + (j * SubBlockBytes) + unit] = 0;
        }
    }

    /// <summary>Stored sub-blocks 2i and 2i+1 are the low and high nibbles of the same 32 bytes; with A and B the
    /// four-byte words at 8k and 8k+4 of them, chunk k of the even sub-block is A's and B's low nibbles and of the odd
    /// one their high nibbles (<see cref="NibbleChunks.Interleave"/>). Q5_K's fifth bits: stored bit j of byte l is
    /// sub-block j's value l.</summary>
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
                var block = source + (((long)group * InterleavedLayout.Rows) + r) * rowBytes + (s * TLayout.BlockBytes);
                ((ushort*)destination)[r] = *(ushort*)block;
                ((ushort*)(destination + 16))[r] = *(ushort*)(block + 2);
                KQuantScales.Unpack(new ReadOnlySpan<byte>(block + 4, KQuantScales.PackedBytes), scales, minimums);
                for (var j = 0; j < KQuantScales.SubBlocks; j++)
                {
                    destination[HeaderBytes + (j * SubBlockBytes) + r] = scales[j];
                    destination[HeaderBytes + (j * SubBlockBytes) + 8 + r] = minimums[j];
                }

                var quants = block + TLayout.QuantsOffset;
                for (var i = 0; i < 4; i++)
                {
                    var even = (uint*)(destination + HeaderBytes + (2 * i * SubBlockBytes) + ValuesOffset) + r;
                    var odd = (uint*)(destination + HeaderBytes + (((2 * i) + 1) * SubBlockBytes) + ValuesOffset) + r;
                    for (var k = 0; k < 4; k++)
                    {
                        NibbleChunks.Interleave(
                            Unsafe.ReadUnaligned<uint>(quants + (32 * i) + (8 * k)),
                            Unsafe.ReadUnaligned<uint>(quants + (32 * i) + (8 * k) + 4),
                            out even[8 * k],
                            out odd[8 * k]);
                    }
                }

                if (TLayout.HasFifthBits)
                {
                    FifthBits(block + Q5_K.HighBitsOffset, destination, r);
                }
            }
        }
    }

    /// <summary>Writes row <paramref name="r"/>'s bytes of every sub-block's fifth-bit vector in the group block at
    /// <paramref name="destination"/> from the stored 32 bytes at <paramref name="stored"/>.</summary>
    private static void FifthBits(byte* stored, byte* destination, int r)
    {
        for (var j = 0; j < KQuantScales.SubBlocks; j++)
        {
            var bits = destination + HeaderBytes + (j * SubBlockBytes) + ValuesOffset + 128;
            for (var c = 0; c < 4; c++)
            {
                var value = 0;
                for (var k = 0; k < 4; k++)
                {
                    value |= ((stored[(8 * k) + c] >> j) & 1) << k;
                    value |= ((stored[(8 * k) + 4 + c] >> j) & 1) << (4 + k);
                }

                bits[(4 * r) + c] = (byte)value;
            }
        }
    }

    /// <summary>One token's running sum over a sub-block for eight rows: 16-bit pairs, widened at the end (Q4_K), or
    /// after every second chunk (Q5_K: two chunks' pairs of 5-bit values reach 2 · 2 · 2 · 31 · 127 = 31,496, four
    /// would overflow).</summary>
    private struct Sum
    {
        private Vector256<short> _pairs;
        private Vector256<int> _wide;

        /// <summary>The rows' int32 sums.</summary>
        public readonly Vector256<int> Total => TLayout.HasFifthBits ? _wide : Avx2.MultiplyAddAdjacent(_pairs, Vector256<short>.One);

        /// <summary>Adds chunk <paramref name="k"/>'s products: low values × <paramref name="xl"/>, high values ×
        /// <paramref name="xh"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector256<byte> low, Vector256<byte> high, Vector256<sbyte> xl, Vector256<sbyte> xh, int k)
        {
            _pairs += Avx2.MultiplyAddAdjacent(low, xl) + Avx2.MultiplyAddAdjacent(high, xh);
            if (TLayout.HasFifthBits && (k & 1) == 1)
            {
                _wide += Avx2.MultiplyAddAdjacent(_pairs, Vector256<short>.One);
                _pairs = default;
            }
        }
    }
}
