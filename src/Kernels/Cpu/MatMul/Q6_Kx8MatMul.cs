using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q6_K weights repacked once into the <see cref="InterleavedLayout"/>'s row groups, one block per 256-column
/// super-block and the stored size (1,680 bytes per 8 rows): the eight rows' fp16 d, then per 32-weight sub-block its
/// two 16-weight groups' signed scales for the eight rows, four 32-byte chunks of the values' low four bits arranged
/// as Q4_0's (<see cref="NibbleChunks"/>) and two 32-byte vectors of their top two bits: byte 4r+c of the m-th holds,
/// from bit 0 up, the top bits of the values in the low and high nibbles of byte 4r+c of chunk 2m, then of chunk
/// 2m+1. Chunks 2m and 2m+1 are exactly group 2j+m, so one 16-bit shift and mask per half chunk moves the top bits
/// into place.
/// </summary>
/// <remarks>
/// Products go in unsigned (0..63) through vpmaddubsw, a chunk's low and high halves added in 16-bit lanes (at most
/// 2 · 2 · 63 · 127 = 32,004), and vpmaddwd against the group's scales (each row's scale in both of its 16-bit lanes)
/// widens them into the rows' int32 sums, exact over a sub-block; the −32 offset leaves through one vpmaddwd of the
/// two groups' scales against their half-block activation sums. Then per sub-block and token one conversion and one
/// FMA with d·dx, the same operations in every kernel, so a token's outputs do not depend on the batch.
/// </remarks>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal sealed unsafe partial class Q6_Kx8MatMul : SuperBlockInterleavedMatMul
{
    /// <summary>Bytes of one row group's super-block: the stored size.</summary>
    internal const int PackedGroupBlockBytes = InterleavedLayout.Rows * Q6_K.BlockBytes;

    /// <summary>The eight rows' fp16 d.</summary>
    private const int HeaderBytes = 16;

    /// <summary>One sub-block for eight rows: its two groups' scales (16 bytes), then the values.</summary>
    private const int SubBlockBytes = 16 + 192;

    private readonly bool _wide;

    /// <param name="weight">The stored Q6_K matrix.</param>
    /// <param name="wide">Whether to run the 512-bit eight-token tile (<see cref="EightTokens{TUnits}"/>); needs
    /// <see cref="WideSupported"/>.</param>
    /// <param name="arena">Where the repacked matrix goes; null: an allocation of its own.</param>
    public Q6_Kx8MatMul(WeightTensor weight, bool wide, WeightArena? arena = null)
        : base(weight, PackedGroupBlockBytes, arena)
    {
        if (wide && !WideSupported)
        {
            throw new PlatformNotSupportedException("the 512-bit Q6_K tile needs AVX-512BW");
        }

        _wide = wide;
        Repack();
    }

    /// <summary>Whether this CPU runs the 512-bit eight-token tile: 512-bit vectors with byte and word operations.</summary>
    public static bool WideSupported => IntegerDot.IsSupported && Vector512.IsHardwareAccelerated && Avx512BW.IsSupported;

    protected override bool EightTokenTiles => _wide;

    /// <summary>One token over one row group, or four groups <paramref name="sectionBytes"/> apart read in step
    /// (outputs <paramref name="sectionRows"/> apart); the streams are left to the hardware prefetchers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void OneToken<TGroups, TUnits>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
    {
        var stride = GroupBlockBytes;
        var subBlocks = Columns / 32;
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * subBlocks);
        var halfSums = (int*)(q.HalfSums + ((long)token * subBlocks * 2));
        var g0 = group;
        var g1 = g0 + sectionBytes;
        var g2 = g1 + sectionBytes;
        var g3 = g2 + sectionBytes;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var o = s * stride;
            var d0 = TUnits.Load8(g0 + o, 0);
            var d1 = TGroups.Several ? TUnits.Load8(g1 + o, 0) : default;
            var d2 = TGroups.Several ? TUnits.Load8(g2 + o, 0) : default;
            var d3 = TGroups.Several ? TUnits.Load8(g3 + o, 0) : default;
            for (var j = 0; j < 8; j++)
            {
                var x = xq + (s * 256) + (j * 32);
                var b = (s * 8) + j;
                var sums = Vector256.Create(halfSums[b]).AsInt16();
                var dx = Vector256.Create(xs[b]);
                a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(SubBlock(g0 + o, j, x, sums)), d0 * dx, a0);
                if (TGroups.Several)
                {
                    a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(SubBlock(g1 + o, j, x, sums)), d1 * dx, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(SubBlock(g2 + o, j, x, sums)), d2 * dx, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(SubBlock(g3 + o, j, x, sums)), d3 * dx, a3);
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

    /// <summary>One token's int32 sums Σ sc·(q − 32)·x over sub-block <paramref name="j"/> of the eight rows of the
    /// group block at <paramref name="block"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SubBlock(byte* block, int j, sbyte* x, Vector256<short> halfSums)
    {
        GroupScales(block, j, out var first, out var second, out var pairs);
        var values = block + HeaderBytes + (j * SubBlockBytes) + 16;
        Unpack(values, 0, out var low0, out var high0, out var low1, out var high1);
        var sum = Products(low0, high0, low1, high1, x, first) - Offsets(pairs, halfSums);
        Unpack(values, 1, out low0, out high0, out low1, out high1);
        return sum + Products(low0, high0, low1, high1, x + 16, second);
    }

    /// <summary>32 × Σ sc·Σx over the sub-block's two groups, per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Offsets(Vector256<short> pairs, Vector256<short> halfSums) =>
        Avx2.MultiplyAddAdjacent(pairs, halfSums) << 5;

    /// <summary>One group's (two chunks') products with activations <paramref name="x"/>, scaled by the group's
    /// <paramref name="scales"/> into the rows' int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Products(Vector256<byte> low0, Vector256<byte> high0, Vector256<byte> low1, Vector256<byte> high1, sbyte* x, Vector256<short> scales)
    {
        var first = Avx2.MultiplyAddAdjacent(low0, Broadcast(x)) + Avx2.MultiplyAddAdjacent(high0, Broadcast(x + 4));
        var second = Avx2.MultiplyAddAdjacent(low1, Broadcast(x + 8)) + Avx2.MultiplyAddAdjacent(high1, Broadcast(x + 12));
        return Avx2.MultiplyAddAdjacent(first, scales) + Avx2.MultiplyAddAdjacent(second, scales);
    }

    /// <summary>The 6-bit values of chunks 2m and 2m+1 of a sub-block, as the bytes of their low and high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack(byte* values, int m, out Vector256<byte> low0, out Vector256<byte> high0, out Vector256<byte> low1, out Vector256<byte> high1)
    {
        var nibble = Vector256.Create((byte)0x0F);
        var top = Vector256.Create((byte)0x30);
        var raw0 = Vector256.Load(values + (64 * m));
        var raw1 = Vector256.Load(values + (64 * m) + 32);
        var bits = Vector256.Load(values + 128 + (32 * m)).AsUInt16();
        low0 = (raw0 & nibble) | ((bits << 4).AsByte() & top);
        high0 = NibbleChunks.High(raw0) | ((bits << 2).AsByte() & top);
        low1 = (raw1 & nibble) | (bits.AsByte() & top);
        high1 = NibbleChunks.High(raw1) | ((bits >>> 2).AsByte() & top);
    }

    /// <summary>Groups 2j and 2j+1's scales, each row's in both of its 16-bit lanes, and the two interleaved (row r's
    /// pair in lanes 2r and 2r+1) for the offset.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GroupScales(byte* block, int j, out Vector256<short> first, out Vector256<short> second, out Vector256<short> pairs)
    {
        var raw = Vector128.Load(block + HeaderBytes + (j * SubBlockBytes));
        first = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(raw, Vector128.Create((byte)0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)).AsSByte());
        second = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(raw, Vector128.Create((byte)8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)).AsSByte());
        pairs = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(raw, Vector128.Create((byte)0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)).AsSByte());
    }

    /// <summary>Four tokens over one row group, or two adjacent groups; each group's values are unpacked and its
    /// scales spread once for the four tokens. Prefetches <paramref name="prefetchLines"/> lines from
    /// <paramref name="prefetch"/> spread over the sub-blocks (<see cref="InterleavedMatMul.PrefetchShare"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Tile<TGroups, TUnits>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        var stride = GroupBlockBytes;
        var subBlocks = Columns / 32;
        long columns = Columns;
        var x0 = q.Values + ((long)token * columns);
        var xs = q.Scales + ((long)token * subBlocks);
        var halfSums = (int*)(q.HalfSums + ((long)token * subBlocks * 2));
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var blockA = first + (s * stride);
            var blockB = second + (s * stride);
            var dA = TUnits.Load8(blockA, 0);
            var dB = TGroups.Several ? TUnits.Load8(blockB, 0) : default;
            for (var j = 0; j < 8; j++)
            {
                PrefetchShare(prefetch, prefetchLines, (s * 8) + j, subBlocks);
                var b = (s * 8) + j;
                var x = x0 + (s * 256) + (j * 32);
                GroupScales(blockA, j, out var firstA, out var secondA, out var pairsA);
                Vector256<short> firstB = default, secondB = default, pairsB = default;
                if (TGroups.Several)
                {
                    GroupScales(blockB, j, out firstB, out secondB, out pairsB);
                }

                var s0 = Vector256.Create(halfSums[b]).AsInt16();
                var s1 = Vector256.Create(halfSums[subBlocks + b]).AsInt16();
                var s2 = Vector256.Create(halfSums[(2 * subBlocks) + b]).AsInt16();
                var s3 = Vector256.Create(halfSums[(3 * subBlocks) + b]).AsInt16();
                Vector256<int> i0 = -Offsets(pairsA, s0), i1 = -Offsets(pairsA, s1), i2 = -Offsets(pairsA, s2), i3 = -Offsets(pairsA, s3);
                Vector256<int> k0 = default, k1 = default, k2 = default, k3 = default;
                if (TGroups.Several)
                {
                    k0 = -Offsets(pairsB, s0);
                    k1 = -Offsets(pairsB, s1);
                    k2 = -Offsets(pairsB, s2);
                    k3 = -Offsets(pairsB, s3);
                }

                for (var m = 0; m < 2; m++)
                {
                    var valuesA = blockA + HeaderBytes + (j * SubBlockBytes) + 16;
                    Unpack(valuesA, m, out var lowA0, out var highA0, out var lowA1, out var highA1);
                    var scalesA = m == 0 ? firstA : secondA;
                    var xm = x + (16 * m);
                    i0 += Products(lowA0, highA0, lowA1, highA1, xm, scalesA);
                    i1 += Products(lowA0, highA0, lowA1, highA1, xm + columns, scalesA);
                    i2 += Products(lowA0, highA0, lowA1, highA1, xm + (2 * columns), scalesA);
                    i3 += Products(lowA0, highA0, lowA1, highA1, xm + (3 * columns), scalesA);
                    if (TGroups.Several)
                    {
                        var valuesB = blockB + HeaderBytes + (j * SubBlockBytes) + 16;
                        Unpack(valuesB, m, out var lowB0, out var highB0, out var lowB1, out var highB1);
                        var scalesB = m == 0 ? firstB : secondB;
                        k0 += Products(lowB0, highB0, lowB1, highB1, xm, scalesB);
                        k1 += Products(lowB0, highB0, lowB1, highB1, xm + columns, scalesB);
                        k2 += Products(lowB0, highB0, lowB1, highB1, xm + (2 * columns), scalesB);
                        k3 += Products(lowB0, highB0, lowB1, highB1, xm + (3 * columns), scalesB);
                    }
                }

                Scale<TGroups>(i0, k0, dA, dB, xs[b], ref a0, ref b0);
                Scale<TGroups>(i1, k1, dA, dB, xs[subBlocks + b], ref a1, ref b1);
                Scale<TGroups>(i2, k2, dA, dB, xs[(2 * subBlocks) + b], ref a2, ref b2);
                Scale<TGroups>(i3, k3, dA, dB, xs[(3 * subBlocks) + b], ref a3, ref b3);
            }
        }

        StoreTile(y, ldy, TGroups.Several, a0, a1, a2, a3, b0, b1, b2, b3);
    }

    /// <summary>One token's sub-block sums of one or two groups converted and added to their accumulators with
    /// d·dx.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale<TGroups>(Vector256<int> sumsA, Vector256<int> sumsB, Vector256<float> dA, Vector256<float> dB, float activationScale,
        ref Vector256<float> accA, ref Vector256<float> accB)
        where TGroups : struct, IRowGroups
    {
        var dx = Vector256.Create(activationScale);
        accA = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumsA), dA * dx, accA);
        if (TGroups.Several)
        {
            accB = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumsB), dB * dx, accB);
        }
    }

    /// <summary>A zero d takes its row's sixteen group scales (both of every sub-block's) to zero, and with them the
    /// −32 offset's share.</summary>
    protected override void ZeroScaled(byte* block, int unit)
    {
        for (var j = 0; j < 8; j++)
        {
            block[HeaderBytes + (j * SubBlockBytes) + unit] = 0;
            block[HeaderBytes + (j * SubBlockBytes) + 8 + unit] = 0;
        }
    }

    /// <summary>Expands each row's stored super-block to its 256 six-bit values (<see cref="Levels"/>), then writes
    /// them, the scales and d in the interleaved layout (the top-bit vectors, which each row ors into, cleared
    /// first).</summary>
    protected override void RepackGroup(int group)
    {
        var source = (byte*)Weight.Data;
        var rowBytes = Weight.RowBytes;
        Span<byte> levels = stackalloc byte[Q6_K.BlockSize];
        for (var s = 0; s < Blocks; s++)
        {
            var destination = GroupStart(group) + (s * GroupBlockBytes);
            for (var j = 0; j < 8; j++)
            {
                new Span<byte>(destination + HeaderBytes + (j * SubBlockBytes) + 16 + 128, 64).Clear();
            }

            for (var r = 0; r < InterleavedLayout.Rows; r++)
            {
                var block = source + (((long)group * InterleavedLayout.Rows) + r) * rowBytes + (s * Q6_K.BlockBytes);
                ((ushort*)destination)[r] = *(ushort*)(block + Q6_K.ScaleOffset);
                for (var g = 0; g < 16; g++)
                {
                    destination[HeaderBytes + (g / 2 * SubBlockBytes) + (8 * (g % 2)) + r] = block[Q6_K.ScalesOffset + g];
                }

                Levels(block, levels);
                for (var j = 0; j < 8; j++)
                {
                    var values = destination + HeaderBytes + (j * SubBlockBytes) + 16;
                    for (var k = 0; k < 4; k++)
                    {
                        for (var c = 0; c < 4; c++)
                        {
                            var low = levels[(32 * j) + (8 * k) + c];
                            var high = levels[(32 * j) + (8 * k) + 4 + c];
                            var at = (4 * r) + c;
                            values[(32 * k) + at] = (byte)((low & 0x0F) | ((high & 0x0F) << 4));
                            var shift = 4 * (k % 2);
                            values[128 + (32 * (k / 2)) + at] |= (byte)((((low >> 4) | ((high >> 4) << 2)) & 0x0F) << shift);
                        }
                    }
                }
            }
        }
    }

    /// <summary>The 256 six-bit values (0..63) of a stored super-block, layout in <see cref="Q6_K"/>.</summary>
    private static void Levels(byte* block, Span<byte> levels)
    {
        for (var half = 0; half < 2; half++)
        {
            var nibbles = block + (64 * half);
            var bits = block + Q6_K.HighBitsOffset + (32 * half);
            for (var l = 0; l < 32; l++)
            {
                var at = (128 * half) + l;
                levels[at] = (byte)((nibbles[l] & 0x0F) | ((bits[l] & 3) << 4));
                levels[at + 32] = (byte)((nibbles[l + 32] & 0x0F) | (((bits[l] >> 2) & 3) << 4));
                levels[at + 64] = (byte)((nibbles[l] >> 4) | (((bits[l] >> 4) & 3) << 4));
                levels[at + 96] = (byte)((nibbles[l + 32] >> 4) | (((bits[l] >> 6) & 3) << 4));
            }
        }
    }
}
