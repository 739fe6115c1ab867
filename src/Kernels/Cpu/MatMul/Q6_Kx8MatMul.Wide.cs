using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

// Q6_Kx8MatMul, part: the 512-bit eight-token tile (CPUs with AVX-512BW).
internal sealed unsafe partial class Q6_Kx8MatMul
{
    /// <summary>
    /// Sixteen rows × eight tokens on 512-bit vectors: one vector holds the same chunk (and top-bit vector) of both
    /// groups, so the values of 16 rows are unpacked once for eight tokens, and both groups' scales and d sit side by
    /// side. Every lane takes <see cref="Tile{TGroups, TUnits}"/>'s operations on the same values, so the outputs are
    /// bit-identical to the four-token tile's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void EightTokens<TUnits>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        var stride = GroupBlockBytes;
        var subBlocks = Columns / 32;
        long columns = Columns;
        var x0 = q.Values + ((long)token * columns);
        var xs = q.Scales + ((long)token * subBlocks);
        var halfSums = (int*)(q.HalfSums + ((long)token * subBlocks * 2));
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var blockA = first + (s * stride);
            var blockB = second + (s * stride);
            var d = TUnits.Load8(blockA, 0).ToVector512Unsafe().WithUpper(TUnits.Load8(blockB, 0));
            for (var j = 0; j < 8; j++)
            {
                PrefetchShare(prefetch, prefetchLines, (s * 8) + j, subBlocks);
                var b = (s * 8) + j;
                var x = x0 + (s * 256) + (j * 32);
                GroupScales(blockA, j, out var firstA, out var secondA, out var pairsA);
                GroupScales(blockB, j, out var firstB, out var secondB, out var pairsB);
                var pairs = pairsA.ToVector512Unsafe().WithUpper(pairsB);
                var i0 = -Offsets(pairs, halfSums[b]);
                var i1 = -Offsets(pairs, halfSums[subBlocks + b]);
                var i2 = -Offsets(pairs, halfSums[(2 * subBlocks) + b]);
                var i3 = -Offsets(pairs, halfSums[(3 * subBlocks) + b]);
                var i4 = -Offsets(pairs, halfSums[(4 * subBlocks) + b]);
                var i5 = -Offsets(pairs, halfSums[(5 * subBlocks) + b]);
                var i6 = -Offsets(pairs, halfSums[(6 * subBlocks) + b]);
                var i7 = -Offsets(pairs, halfSums[(7 * subBlocks) + b]);
                for (var m = 0; m < 2; m++)
                {
                    Unpack(blockA + HeaderBytes + (j * SubBlockBytes) + 16, blockB + HeaderBytes + (j * SubBlockBytes) + 16, m, out var low0, out var high0, out var low1, out var high1);
                    var scales = m == 0 ? firstA.ToVector512Unsafe().WithUpper(firstB) : secondA.ToVector512Unsafe().WithUpper(secondB);
                    var xm = x + (16 * m);
                    i0 += Products(low0, high0, low1, high1, xm, scales);
                    i1 += Products(low0, high0, low1, high1, xm + columns, scales);
                    i2 += Products(low0, high0, low1, high1, xm + (2 * columns), scales);
                    i3 += Products(low0, high0, low1, high1, xm + (3 * columns), scales);
                    i4 += Products(low0, high0, low1, high1, xm + (4 * columns), scales);
                    i5 += Products(low0, high0, low1, high1, xm + (5 * columns), scales);
                    i6 += Products(low0, high0, low1, high1, xm + (6 * columns), scales);
                    i7 += Products(low0, high0, low1, high1, xm + (7 * columns), scales);
                }

                a0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i0), d * Vector512.Create(xs[b]), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i1), d * Vector512.Create(xs[subBlocks + b]), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i2), d * Vector512.Create(xs[(2 * subBlocks) + b]), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i3), d * Vector512.Create(xs[(3 * subBlocks) + b]), a3);
                a4 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i4), d * Vector512.Create(xs[(4 * subBlocks) + b]), a4);
                a5 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i5), d * Vector512.Create(xs[(5 * subBlocks) + b]), a5);
                a6 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i6), d * Vector512.Create(xs[(6 * subBlocks) + b]), a6);
                a7 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i7), d * Vector512.Create(xs[(7 * subBlocks) + b]), a7);
            }
        }

        StoreEightTokens(y, ldy, a0, a1, a2, a3, a4, a5, a6, a7);
    }

    /// <summary><see cref="Offsets(Vector256{short}, Vector256{short})"/> for sixteen rows, from one token's two
    /// half-block sums as one int.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Offsets(Vector512<short> pairs, int halfSums) =>
        Avx512BW.MultiplyAddAdjacent(pairs, Vector512.Create(halfSums).AsInt16()) << 5;

    /// <summary><see cref="Unpack(byte*, int, out Vector256{byte}, out Vector256{byte}, out Vector256{byte}, out Vector256{byte})"/>
    /// for both groups, the first in the lower half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack(byte* valuesA, byte* valuesB, int m, out Vector512<byte> low0, out Vector512<byte> high0, out Vector512<byte> low1, out Vector512<byte> high1)
    {
        var nibble = Vector512.Create((byte)0x0F);
        var top = Vector512.Create((byte)0x30);
        var raw0 = Vector256.Load(valuesA + (64 * m)).ToVector512Unsafe().WithUpper(Vector256.Load(valuesB + (64 * m)));
        var raw1 = Vector256.Load(valuesA + (64 * m) + 32).ToVector512Unsafe().WithUpper(Vector256.Load(valuesB + (64 * m) + 32));
        var bits = Vector256.Load(valuesA + 128 + (32 * m)).ToVector512Unsafe().WithUpper(Vector256.Load(valuesB + 128 + (32 * m))).AsUInt16();
        low0 = (raw0 & nibble) | ((bits << 4).AsByte() & top);
        high0 = NibbleChunks.High(raw0) | ((bits << 2).AsByte() & top);
        low1 = (raw1 & nibble) | (bits.AsByte() & top);
        high1 = NibbleChunks.High(raw1) | ((bits >>> 2).AsByte() & top);
    }

    /// <summary><see cref="Products(Vector256{byte}, Vector256{byte}, Vector256{byte}, Vector256{byte}, sbyte*, Vector256{short})"/>
    /// for sixteen rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Products(Vector512<byte> low0, Vector512<byte> high0, Vector512<byte> low1, Vector512<byte> high1, sbyte* x, Vector512<short> scales)
    {
        var first = Avx512BW.MultiplyAddAdjacent(low0, Broadcast512(x)) + Avx512BW.MultiplyAddAdjacent(high0, Broadcast512(x + 4));
        var second = Avx512BW.MultiplyAddAdjacent(low1, Broadcast512(x + 8)) + Avx512BW.MultiplyAddAdjacent(high1, Broadcast512(x + 12));
        return Avx512BW.MultiplyAddAdjacent(first, scales) + Avx512BW.MultiplyAddAdjacent(second, scales);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Broadcast512(sbyte* x) => Vector512.Create(*(int*)x).AsSByte();
}
