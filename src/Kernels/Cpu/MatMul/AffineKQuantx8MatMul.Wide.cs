using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

// AffineKQuantx8MatMul, part: the 512-bit eight-token tile (CPUs with AVX-512BW).
internal sealed unsafe partial class AffineKQuantx8MatMul<TLayout>
{
    /// <summary>
    /// Sixteen rows × eight tokens on 512-bit vectors, as Q4_0's (<see cref="Q4_0x8MatMul"/>): one vector holds the
    /// same chunk of both groups, so the values of 16 rows are unpacked once for eight tokens, and each token's
    /// products go into 16-bit lanes widened once per sub-block (Q5_K: per two chunks). The scales, minimums, d and dmin of both groups sit
    /// side by side in one vector and every lane takes <see cref="Tile{TGroups, TUnits}"/>'s operations on the same values,
    /// so the outputs are bit-identical to the four-token tile's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void EightTokens<TUnits>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        var stride = GroupBlockBytes;
        var subBlocks = Columns / 32;
        long columns = Columns;
        var x0 = q.Values + ((long)token * columns);
        var xs = q.Scales + ((long)token * subBlocks);
        var sums = q.Sums + ((long)token * subBlocks);
        var mask = Vector512.Create((byte)0x0F);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
        for (var s = 0; s < Blocks; s++)
        {
            var blockA = first + (s * stride);
            var blockB = second + (s * stride);
            Units<TUnits>(blockA, out var dA, out var dminA);
            Units<TUnits>(blockB, out var dB, out var dminB);
            for (var j = 0; j < 8; j++)
            {
                PrefetchShare(prefetch, prefetchLines, (s * 8) + j, subBlocks);
                var c = HeaderBytes + (j * SubBlockBytes) + ValuesOffset;
                var x = x0 + (s * 256) + (j * 32);
                Vector512<short> p0 = default, p1 = default, p2 = default, p3 = default;
                Vector512<short> p4 = default, p5 = default, p6 = default, p7 = default;
                Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
                Vector512<int> i4 = default, i5 = default, i6 = default, i7 = default;
                var bits = TLayout.HasFifthBits ? Vector256.Load(blockA + c + 128).ToVector512Unsafe().WithUpper(Vector256.Load(blockB + c + 128)).AsUInt16() : default;
                for (var k = 0; k < 4; k++)
                {
                    var low = Values(blockA + c, blockB + c, k, mask, bits, out var high);
                    var xk = x + (8 * k);
                    p0 += Products(low, high, xk);
                    p1 += Products(low, high, xk + columns);
                    p2 += Products(low, high, xk + (2 * columns));
                    p3 += Products(low, high, xk + (3 * columns));
                    p4 += Products(low, high, xk + (4 * columns));
                    p5 += Products(low, high, xk + (5 * columns));
                    p6 += Products(low, high, xk + (6 * columns));
                    p7 += Products(low, high, xk + (7 * columns));
                    if (TLayout.HasFifthBits && (k & 1) == 1)
                    {
                        Flush(ref i0, ref p0);
                        Flush(ref i1, ref p1);
                        Flush(ref i2, ref p2);
                        Flush(ref i3, ref p3);
                        Flush(ref i4, ref p4);
                        Flush(ref i5, ref p5);
                        Flush(ref i6, ref p6);
                        Flush(ref i7, ref p7);
                    }
                }

                var scales = SubBlockScales(blockA, j, dA).ToVector512Unsafe().WithUpper(SubBlockScales(blockB, j, dB));
                var minimums = SubBlockMinimums(blockA, j, dminA).ToVector512Unsafe().WithUpper(SubBlockMinimums(blockB, j, dminB));
                var b = (s * 8) + j;
                a0 = Accumulate(a0, Total(i0, p0), scales, minimums, xs[b], sums[b]);
                a1 = Accumulate(a1, Total(i1, p1), scales, minimums, xs[subBlocks + b], sums[subBlocks + b]);
                a2 = Accumulate(a2, Total(i2, p2), scales, minimums, xs[(2 * subBlocks) + b], sums[(2 * subBlocks) + b]);
                a3 = Accumulate(a3, Total(i3, p3), scales, minimums, xs[(3 * subBlocks) + b], sums[(3 * subBlocks) + b]);
                a4 = Accumulate(a4, Total(i4, p4), scales, minimums, xs[(4 * subBlocks) + b], sums[(4 * subBlocks) + b]);
                a5 = Accumulate(a5, Total(i5, p5), scales, minimums, xs[(5 * subBlocks) + b], sums[(5 * subBlocks) + b]);
                a6 = Accumulate(a6, Total(i6, p6), scales, minimums, xs[(6 * subBlocks) + b], sums[(6 * subBlocks) + b]);
                a7 = Accumulate(a7, Total(i7, p7), scales, minimums, xs[(7 * subBlocks) + b], sums[(7 * subBlocks) + b]);
            }
        }

        StoreEightTokens(y, ldy, a0, a1, a2, a3, a4, a5, a6, a7);
    }

    /// <summary>Chunk <paramref name="k"/> of two groups' sub-blocks (values at <paramref name="first"/> and
    /// <paramref name="second"/>) in one vector: the low nibbles' values returned, the high ones' in
    /// <paramref name="high"/> (Q5_K's fifth bits, <paramref name="bits"/>, moved into bit 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Values(byte* first, byte* second, int k, Vector512<byte> mask, Vector512<ushort> bits, out Vector512<byte> high)
    {
        var raw = Vector256.Load(first + (32 * k)).ToVector512Unsafe().WithUpper(Vector256.Load(second + (32 * k)));
        var low = raw & mask;
        high = NibbleChunks.High(raw);
        if (TLayout.HasFifthBits)
        {
            var bit4 = Vector512.Create((byte)0x10);
            low |= (bits << (4 - k)).AsByte() & bit4;
            high |= (bits >>> k).AsByte() & bit4;
        }

        return low;
    }

    /// <summary>One token's 16-bit pair sums for one chunk of 16 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Products(Vector512<byte> low, Vector512<byte> high, sbyte* x) =>
        Avx512BW.MultiplyAddAdjacent(low, Vector512.Create(*(int*)x).AsSByte())
        + Avx512BW.MultiplyAddAdjacent(high, Vector512.Create(*(int*)(x + 4)).AsSByte());

    /// <summary>Q5_K: a token's 16-bit pair sums of two chunks widened into its int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Flush(ref Vector512<int> sums, ref Vector512<short> pairs)
    {
        sums += Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One);
        pairs = default;
    }

    /// <summary>A token's int32 sums over the sub-block: the widened pairs (Q4_K) or the flushed sums (Q5_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Total(Vector512<int> sums, Vector512<short> pairs) =>
        TLayout.HasFifthBits ? sums : Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One);

    /// <summary><see cref="Accumulate(Vector256{float}, Vector256{int}, Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float})"/>
    /// for sixteen rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Accumulate(Vector512<float> acc, Vector512<int> dot, Vector512<float> scales, Vector512<float> minimums, float activationScale, int activationSum)
    {
        acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(dot), scales * Vector512.Create(activationScale), acc);
        return Avx512F.FusedMultiplyAddNegated(minimums, Vector512.Create(activationScale * activationSum), acc);
    }
}
