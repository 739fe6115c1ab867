using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

// Q4_0x8MatMul, part: the 512-bit kernels (CPUs with AVX-512BW), products into 16-bit lanes through vpmaddubsw,
// which Q4_0's 4-bit weights allow, widened once per token and block.
internal sealed unsafe partial class Q4_0x8MatMul
{

    protected override void Group2x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int ldy, int sectionRows)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                WideSections<F16NormalRowLoader, TwoTokens>(group, sectionBytes, q, token, y, ldy, sectionRows);
                break;
            case BlockScaleForm.Finite:
                WideSections<F16FiniteRowLoader, TwoTokens>(group, sectionBytes, q, token, y, ldy, sectionRows);
                break;
            default:
                WideSections<F16RowLoader, TwoTokens>(group, sectionBytes, q, token, y, ldy, sectionRows);
                break;
        }
    }

    /// <summary>
    /// One or two tokens over four row groups a section apart, on 512-bit vectors with 16-bit partial sums as in
    /// <see cref="WidePair{TScales, TTokens}"/>: one vector holds a chunk of two sections' groups, unpacked once for
    /// every token. With one token per pass (<see cref="DotProduct1x4{TScales}"/> twice) two or three tokens were
    /// bound by the unpacking and scaling, not by memory: 37.5 and 22.9 GB/s of weights against 62.8 for one token.
    /// One token takes this form only on CPUs without AVX-VNNI, where the alternative is vpmaddubsw and vpmaddwd
    /// per 32 products instead of a vpmaddubsw per 64 and one vpmaddwd per block. One token leaves its four streams
    /// to the hardware prefetchers: on the Zen 4 machine requesting every line ahead (as
    /// <see cref="DotProduct1x4{TScales}"/> does on Zen 5, where it gained 7–12 %) capped 22 layers of one-token
    /// products at 39–40 GB/s while the probe read 53–61 GB/s; without, they read 50–52 GB/s (<c>bench kernels</c>,
    /// alternated five times; in slow-memory minutes both ≈ 31–35 GB/s). Two tokens are bound by arithmetic either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WideSections<TScales, TTokens>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int ldy, int sectionRows)
        where TScales : struct, IFloatRowLoader
        where TTokens : struct, ISectionTokens
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var x0 = q.Values + ((long)token * Columns);
        var x1 = x0 + Columns;
        var xs = q.Scales + ((long)token * blocks);
        var offsets = q.NibbleOffsets + ((long)token * blocks);
        var g0 = group;
        var g1 = g0 + sectionBytes;
        var g2 = g1 + sectionBytes;
        var g3 = g2 + sectionBytes;
        var mask = Vector512.Create((byte)0x0F);
        var ones = Vector512<short>.One;
        Vector512<float> a01 = default, a23 = default, b01 = default, b23 = default;
        for (var b = 0; b < blocks; b++)
        {
            var o = b * stride;
            if (TTokens.Two)
            {
                PrefetchStreams(g0, g1, g2, g3, o + StreamPrefetchBytes, stride);
            }
            Vector512<short> d01 = default, d23 = default, e01 = default, e23 = default;
            for (var k = 0; k < 4; k++)
            {
                var c = o + InterleavedLayout.ScaleBytes + (k * 32);
                var raw01 = Vector256.Load(g0 + c).ToVector512Unsafe().WithUpper(Vector256.Load(g1 + c));
                var raw23 = Vector256.Load(g2 + c).ToVector512Unsafe().WithUpper(Vector256.Load(g3 + c));
                var low01 = raw01 & mask;
                var high01 = NibbleChunks.High(raw01);
                var low23 = raw23 & mask;
                var high23 = NibbleChunks.High(raw23);
                var x = (b * 32) + (8 * k);
                d01 += Products(low01, high01, x0 + x);
                d23 += Products(low23, high23, x0 + x);
                if (TTokens.Two)
                {
                    e01 += Products(low01, high01, x1 + x);
                    e23 += Products(low23, high23, x1 + x);
                }
            }

            var scale01 = TScales.Load8(g0 + o, 0).ToVector512Unsafe().WithUpper(TScales.Load8(g1 + o, 0));
            var scale23 = TScales.Load8(g2 + o, 0).ToVector512Unsafe().WithUpper(TScales.Load8(g3 + o, 0));
            a01 = Scaled(d01, ones, offsets[b], scale01, xs[b], a01);
            a23 = Scaled(d23, ones, offsets[b], scale23, xs[b], a23);
            if (TTokens.Two)
            {
                b01 = Scaled(e01, ones, offsets[blocks + b], scale01, xs[blocks + b], b01);
                b23 = Scaled(e23, ones, offsets[blocks + b], scale23, xs[blocks + b], b23);
            }
        }

        a01.GetLower().Store(y);
        a01.GetUpper().Store(y + sectionRows);
        a23.GetLower().Store(y + (2 * sectionRows));
        a23.GetUpper().Store(y + (3 * sectionRows));
        if (TTokens.Two)
        {
            b01.GetLower().Store(y + ldy);
            b01.GetUpper().Store(y + ldy + sectionRows);
            b23.GetLower().Store(y + ldy + (2 * sectionRows));
            b23.GetUpper().Store(y + ldy + (3 * sectionRows));
        }
    }

    protected override void Group8Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                WidePair<F16NormalRowLoader, EightTokens>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Finite:
                WidePair<F16FiniteRowLoader, EightTokens>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            default:
                WidePair<F16RowLoader, EightTokens>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
        }
    }

    /// <summary>
    /// Sixteen rows × eight (or four) tokens on 512-bit vectors: one vector holds the same chunk of both groups, so
    /// the nibbles of 16 rows are unpacked once for all the tokens. The products go through vpmaddubsw into 16-bit lanes, which
    /// 4-bit weights allow: a product pair is at most 2 · 15 · 127 = 3,810 in magnitude, so the eight of a block
    /// (four chunks, low and high nibbles) sum to at most 30,480 and never saturate; one vpmaddwd per token and block
    /// widens the pairs to the row's int32 sum. That integer is exactly <see cref="Group4{TScales}"/>'s, and the
    /// scaling that follows is the same operations on the same values, so the outputs are bit-identical. The
    /// multiply pipes then do a 16-bit multiply per 64 products instead of a vpdpbusd per 32 (AVX-512 VNNI, which
    /// would keep 32-bit lanes, has no .NET API), and the adds go to the other vector pipes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WidePair<TScales, TTokens>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TScales : struct, IFloatRowLoader
        where TTokens : struct, ITileTokens
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        long columns = Columns;
        var xq = q.Values + ((long)token * columns);
        var xs = q.Scales + ((long)token * blocks);
        var offsets = q.NibbleOffsets + ((long)token * blocks);
        var mask = Vector512.Create((byte)0x0F);
        var ones = Vector512<short>.One;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
        for (var b = 0; b < blocks; b++)
        {
            PrefetchShare(prefetch, prefetchLines, b, blocks);

            var blockA = first + (b * stride);
            var blockB = second + (b * stride);
            var x = xq + (b * 32);
            FirstChunk<TTokens>(blockA, blockB, x, columns, mask, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5, out var d6, out var d7);
            Chunk<TTokens>(blockA, blockB, 1, x, columns, mask, ref d0, ref d1, ref d2, ref d3, ref d4, ref d5, ref d6, ref d7);
            Chunk<TTokens>(blockA, blockB, 2, x, columns, mask, ref d0, ref d1, ref d2, ref d3, ref d4, ref d5, ref d6, ref d7);
            Chunk<TTokens>(blockA, blockB, 3, x, columns, mask, ref d0, ref d1, ref d2, ref d3, ref d4, ref d5, ref d6, ref d7);

            var scale = TScales.Load8(blockA, 0).ToVector512Unsafe().WithUpper(TScales.Load8(blockB, 0));
            a0 = Scaled(d0, ones, offsets[b], scale, xs[b], a0);
            a1 = Scaled(d1, ones, offsets[blocks + b], scale, xs[blocks + b], a1);
            a2 = Scaled(d2, ones, offsets[(2 * blocks) + b], scale, xs[(2 * blocks) + b], a2);
            a3 = Scaled(d3, ones, offsets[(3 * blocks) + b], scale, xs[(3 * blocks) + b], a3);
            if (TTokens.Eight)
            {
                a4 = Scaled(d4, ones, offsets[(4 * blocks) + b], scale, xs[(4 * blocks) + b], a4);
                a5 = Scaled(d5, ones, offsets[(5 * blocks) + b], scale, xs[(5 * blocks) + b], a5);
                a6 = Scaled(d6, ones, offsets[(6 * blocks) + b], scale, xs[(6 * blocks) + b], a6);
                a7 = Scaled(d7, ones, offsets[(7 * blocks) + b], scale, xs[(7 * blocks) + b], a7);
            }
        }

        a0.Store(y);
        a1.Store(y + ldy);
        a2.Store(y + (2 * ldy));
        a3.Store(y + (3 * ldy));
        if (TTokens.Eight)
        {
            a4.Store(y + (4 * ldy));
            a5.Store(y + (5 * ldy));
            a6.Store(y + (6 * ldy));
            a7.Store(y + (7 * ldy));
        }
    }

    /// <summary>The first chunk of a block: its products start the block's pair sums (no add to a zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FirstChunk<TTokens>(byte* blockA, byte* blockB, sbyte* x, long columns, Vector512<byte> mask,
        out Vector512<short> d0, out Vector512<short> d1, out Vector512<short> d2, out Vector512<short> d3,
        out Vector512<short> d4, out Vector512<short> d5, out Vector512<short> d6, out Vector512<short> d7)
        where TTokens : struct, ITileTokens
    {
        Unpack(blockA, blockB, 0, mask, out var low, out var high);
        d0 = Products(low, high, x);
        d1 = Products(low, high, x + columns);
        d2 = Products(low, high, x + (2 * columns));
        d3 = Products(low, high, x + (3 * columns));
        d4 = TTokens.Eight ? Products(low, high, x + (4 * columns)) : default;
        d5 = TTokens.Eight ? Products(low, high, x + (5 * columns)) : default;
        d6 = TTokens.Eight ? Products(low, high, x + (6 * columns)) : default;
        d7 = TTokens.Eight ? Products(low, high, x + (7 * columns)) : default;
    }

    /// <summary>Chunk <paramref name="k"/> (a constant where inlined) of a block added to the pair sums; written out
    /// per chunk rather than as a loop, so the loop's counter and address arithmetic go (+6 % on one core).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk<TTokens>(byte* blockA, byte* blockB, int k, sbyte* x, long columns, Vector512<byte> mask,
        ref Vector512<short> d0, ref Vector512<short> d1, ref Vector512<short> d2, ref Vector512<short> d3,
        ref Vector512<short> d4, ref Vector512<short> d5, ref Vector512<short> d6, ref Vector512<short> d7)
        where TTokens : struct, ITileTokens
    {
        Unpack(blockA, blockB, k, mask, out var low, out var high);
        x += 8 * k;
        d0 += Products(low, high, x);
        d1 += Products(low, high, x + columns);
        d2 += Products(low, high, x + (2 * columns));
        d3 += Products(low, high, x + (3 * columns));
        if (TTokens.Eight)
        {
            d4 += Products(low, high, x + (4 * columns));
            d5 += Products(low, high, x + (5 * columns));
            d6 += Products(low, high, x + (6 * columns));
            d7 += Products(low, high, x + (7 * columns));
        }
    }

    /// <summary>Chunk <paramref name="k"/> of both groups in one vector, as low and high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack(byte* blockA, byte* blockB, int k, Vector512<byte> mask, out Vector512<byte> low, out Vector512<byte> high)
    {
        // WithUpper on a widened load becomes one vinserti32x8 from memory; Vector512.Create of two halves inserted
        // both into the previous iteration's register, a dependency across the loop.
        var raw = Vector256.Load(blockA + InterleavedLayout.ScaleBytes + (k * 32)).ToVector512Unsafe()
            .WithUpper(Vector256.Load(blockB + InterleavedLayout.ScaleBytes + (k * 32)));
        low = raw & mask;
        high = NibbleChunks.High(raw);
    }

    /// <summary>How many tokens <see cref="WidePair{TScales, TTokens}"/> computes: four or eight, a constant the JIT
    /// compiles each instance for.</summary>
    private interface ITileTokens
    {
        static abstract bool Eight { get; }
    }

    private readonly struct FourTokens : ITileTokens
    {
        public static bool Eight => false;
    }

    private readonly struct EightTokens : ITileTokens
    {
        public static bool Eight => true;
    }

    /// <summary>How many tokens <see cref="WideSections{TScales, TTokens}"/> computes: one or two.</summary>
    private interface ISectionTokens
    {
        static abstract bool Two { get; }
    }

    private readonly struct OneToken : ISectionTokens
    {
        public static bool Two => false;
    }

    private readonly struct TwoTokens : ISectionTokens
    {
        public static bool Two => true;
    }

    /// <summary>One token's 16-bit pair sums for one chunk of 16 rows: low nibbles × the chunk's first four
    /// activations plus high nibbles × the next four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Products(Vector512<byte> low, Vector512<byte> high, sbyte* x) =>
        Avx512BW.MultiplyAddAdjacent(low, Vector512.Create(*(int*)x).AsSByte())
        + Avx512BW.MultiplyAddAdjacent(high, Vector512.Create(*(int*)(x + 4)).AsSByte());

    /// <summary>Widens one token's pair sums to the 16 rows' int32 block sums, applies the −8 offset and adds the
    /// scaled block to the accumulator, in <see cref="Group4{TScales}"/>'s order of operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scaled(Vector512<short> pairs, Vector512<short> ones, int offset, Vector512<float> scale, float activationScale, Vector512<float> acc)
    {
        var dot = Avx512BW.MultiplyAddAdjacent(pairs, ones) + Vector512.Create(offset);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(dot), scale * Vector512.Create(activationScale), acc);
    }
}
