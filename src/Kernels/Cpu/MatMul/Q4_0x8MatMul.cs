using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q4_0 weights repacked once into the <see cref="InterleavedLayout"/> (144 bytes per 8 rows × 32 columns: eight
/// fp16 scales, then four 32-byte chunks; in chunk k, byte 4r+m holds row r's column 8k+m in its low nibble and
/// column 8k+4+m in its high nibble). Nibbles stay unsigned (0..15) in the dot product; the −8 offset enters as the
/// accumulator's starting value −8·Σx of the activation block.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal sealed unsafe partial class Q4_0x8MatMul : InterleavedMatMul
{
    /// <summary>Eight rows × 16 bytes of nibbles per 32-column block.</summary>
    internal const int ValueBytesPerBlock = 128;

    /// <summary>How far ahead the vpdpbusd one-token kernel requests its four streams: further than the other section
    /// kernels (<see cref="InterleavedMatMul.StreamPrefetchBytes"/>). Once every weight was on huge pages (see
    /// <see cref="WeightArena"/>), 2,048 bytes made the whole decode step 0.1–4.4 % faster than 1,536 in six
    /// in-process runs (median +1.7 %), 2,560 bytes 0–4.5 %, 3,072 and 4,096 bytes 3–9 % slower; Q8_0's kernel was
    /// 1–2 % slower at 2,048.</summary>
    private const int OneTokenPrefetchBytes = 2048;

    private readonly bool _wide;

    private readonly bool _vnni;

    /// <param name="weight">The stored Q4_0 matrix.</param>
    /// <param name="wide">Whether to run the 512-bit kernels with 16-bit partial sums (<see cref="Group8Pair"/>,
    /// <see cref="Group2x4"/>, and the one-token kernel where <paramref name="vnni"/> is false); needs
    /// <see cref="WideSupported"/>.</param>
    /// <param name="arena">Where the repacked matrix goes; null: an allocation of its own.</param>
    /// <param name="vnni">Whether the one-token kernel adds byte products into int32 lanes with AVX-VNNI's vpdpbusd
    /// (needs <see cref="AvxVnni"/>); otherwise it sums them in 16-bit lanes first.</param>
    public Q4_0x8MatMul(WeightTensor weight, bool wide, WeightArena? arena, bool vnni)
        : base(weight, 32, InterleavedLayout.ScaleBytes + ValueBytesPerBlock, arena)
    {
        if (wide && !WideSupported)
        {
            throw new PlatformNotSupportedException("the 512-bit Q4_0 kernels need AVX-512BW");
        }

        if (vnni && !AvxVnni.IsSupported)
        {
            throw new PlatformNotSupportedException("this CPU has no AVX-VNNI");
        }

        _wide = wide;
        _vnni = vnni;
        Repack();
    }

    /// <summary>Whether this CPU runs the 512-bit kernels: 512-bit vectors with byte and word operations.</summary>
    public static bool WideSupported => IntegerDot.IsSupported && Vector512.IsHardwareAccelerated && Avx512BW.IsSupported;

    protected override bool TwoTokenSections => _wide;

    protected override bool EightTokenTiles => _wide;

    protected override void Group1(byte* group, QuantizedActivations q, int token, float* y)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group1<F16NormalRowLoader>(group, q, token, y);
                break;
            case BlockScaleForm.Finite:
                Group1<F16FiniteRowLoader>(group, q, token, y);
                break;
            default:
                Group1<F16RowLoader>(group, q, token, y);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Group1<TScales>(byte* group, QuantizedActivations q, int token, float* y)
        where TScales : struct, IFloatRowLoader
    {
        var stride = GroupBlockBytes;
        var blocks = Blocks;
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
        var offsets = q.NibbleOffsets + ((long)token * Blocks);
        var mask = Vector256.Create((byte)0x0F);
        var acc = Vector256<float>.Zero;
        for (var b = 0; b < blocks; b++)
        {
            var block = group + (b * stride);
            var x = xq + (b * 32);
            // Four accumulators (low and high nibbles of chunks 0/2 and 1/3) keep the chains of dependent vpdpbusd
            // two long: with more independent work in flight the core keeps more weight loads outstanding, which is
            // what a memory-latency hiccup needs (mean rate +20 % at 72–81 GB/s in an A/B; int32 sums are exact, so
            // the outputs are unchanged).
            var raw0 = Vector256.Load(block + InterleavedLayout.ScaleBytes);
            var raw1 = Vector256.Load(block + InterleavedLayout.ScaleBytes + 32);
            var raw2 = Vector256.Load(block + InterleavedLayout.ScaleBytes + 64);
            var raw3 = Vector256.Load(block + InterleavedLayout.ScaleBytes + 96);
            var low0 = IntegerDot.Accumulate(Vector256.Create(offsets[b]), raw0 & mask, Broadcast(x));
            var high0 = IntegerDot.Accumulate(Vector256<int>.Zero, NibbleChunks.High(raw0), Broadcast(x + 4));
            var low1 = IntegerDot.Accumulate(Vector256<int>.Zero, raw1 & mask, Broadcast(x + 8));
            var high1 = IntegerDot.Accumulate(Vector256<int>.Zero, NibbleChunks.High(raw1), Broadcast(x + 12));
            low0 = IntegerDot.Accumulate(low0, raw2 & mask, Broadcast(x + 16));
            high0 = IntegerDot.Accumulate(high0, NibbleChunks.High(raw2), Broadcast(x + 20));
            low1 = IntegerDot.Accumulate(low1, raw3 & mask, Broadcast(x + 24));
            high1 = IntegerDot.Accumulate(high1, NibbleChunks.High(raw3), Broadcast(x + 28));
            var low = low0 + low1;
            var high = high0 + high1;

            var scale = TScales.Load8(block, 0) * Vector256.Create(xs[b]);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(low + high), scale, acc);
        }

        acc.Store(y);
    }

    protected override void Group1x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group1x4<F16NormalRowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
            case BlockScaleForm.Finite:
                Group1x4<F16FiniteRowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
            default:
                Group1x4<F16RowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
        }
    }

    /// <summary>One token over four row groups in the form the constructor chose: vpdpbusd (<see cref="DotProduct1x4{TScales}"/>),
    /// or 16-bit pair sums on 512-bit (<see cref="WideSections{TScales, TTokens}"/>) or 256-bit vectors
    /// (<see cref="PairSums1x4{TScales}"/>). All give the same int32 block sums, hence the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Group1x4<TScales>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
        where TScales : struct, IFloatRowLoader
    {
        if (_vnni)
        {
            DotProduct1x4<TScales>(group, sectionBytes, q, token, y, sectionRows);
        }
        else if (_wide)
        {
            WideSections<TScales, OneToken>(group, sectionBytes, q, token, y, 0, sectionRows);
        }
        else
        {
            PairSums1x4<TScales>(group, sectionBytes, q, token, y, sectionRows);
        }
    }

    /// <summary>Each broadcast activation word feeds all four groups; low and high nibbles keep separate
    /// accumulators, so with four groups eight independent vpdpbusd chains are in flight. High nibbles stay in place
    /// (<c>raw &amp; 0xF0</c>, sixteen times the nibble): their block sum is then sixteen times the true one and at
    /// most 16 · 240 · 128 in magnitude, far inside int32, so one arithmetic shift per block gives it back exactly and
    /// the chunks save a shift each (the results are bit-identical; in-process, alternated 12 times, 22 layers of
    /// one-token products +0.6 % median).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DotProduct1x4<TScales>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
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
        var highMask = Vector256.Create((byte)0xF0);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var o = b * stride;
            PrefetchStreams(g0, g1, g2, g3, o + OneTokenPrefetchBytes, stride);
            var x = xq + (b * 32);
            var offset = Vector256.Create(offsets[b]);
            Vector256<int> low0 = offset, low1 = offset, low2 = offset, low3 = offset;
            Vector256<int> high0 = default, high1 = default, high2 = default, high3 = default;
            for (var k = 0; k < 4; k++)
            {
                var c = o + InterleavedLayout.ScaleBytes + (k * 32);
                var raw0 = Vector256.Load(g0 + c);
                var raw1 = Vector256.Load(g1 + c);
                var raw2 = Vector256.Load(g2 + c);
                var raw3 = Vector256.Load(g3 + c);
                var xl = Broadcast(x + (8 * k));
                var xh = Broadcast(x + (8 * k) + 4);
                low0 = IntegerDot.Accumulate(low0, raw0 & mask, xl);
                high0 = IntegerDot.Accumulate(high0, raw0 & highMask, xh);
                low1 = IntegerDot.Accumulate(low1, raw1 & mask, xl);
                high1 = IntegerDot.Accumulate(high1, raw1 & highMask, xh);
                low2 = IntegerDot.Accumulate(low2, raw2 & mask, xl);
                high2 = IntegerDot.Accumulate(high2, raw2 & highMask, xh);
                low3 = IntegerDot.Accumulate(low3, raw3 & mask, xl);
                high3 = IntegerDot.Accumulate(high3, raw3 & highMask, xh);
            }

            var xs = Vector256.Create(scales[b]);
            a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(low0 + (high0 >> 4)), TScales.Load8(g0 + o, 0) * xs, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(low1 + (high1 >> 4)), TScales.Load8(g1 + o, 0) * xs, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(low2 + (high2 >> 4)), TScales.Load8(g2 + o, 0) * xs, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(low3 + (high3 >> 4)), TScales.Load8(g3 + o, 0) * xs, a3);
        }

        a0.Store(y);
        a1.Store(y + sectionRows);
        a2.Store(y + (2 * sectionRows));
        a3.Store(y + (3 * sectionRows));
    }

    protected override void Group4(byte* group, QuantizedActivations q, int token, float* y, int ldy)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Group4<F16NormalRowLoader>(group, q, token, y, ldy);
                break;
            case BlockScaleForm.Finite:
                Group4<F16FiniteRowLoader>(group, q, token, y, ldy);
                break;
            default:
                Group4<F16RowLoader>(group, q, token, y, ldy);
                break;
        }
    }

    protected override void Group4Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal when _wide:
                WidePair<F16NormalRowLoader, FourTokens>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Finite when _wide:
                WidePair<F16FiniteRowLoader, FourTokens>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Any when _wide:
                WidePair<F16RowLoader, FourTokens>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Normal:
                Group4Pair<F16NormalRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Finite:
                Group4Pair<F16FiniteRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            default:
                Group4Pair<F16RowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
        }
    }

    /// <summary>Sixteen rows × four tokens on 256-bit vectors: vpdpbusd where the constructor chose it
    /// (<see cref="DotProduct4Pair{TScales}"/>), else 16-bit pair sums (<see cref="PairSums4Pair{TScales}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Group4Pair<TScales>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TScales : struct, IFloatRowLoader
    {
        if (_vnni)
        {
            DotProduct4Pair<TScales>(first, second, q, token, y, ldy, prefetch, prefetchLines);
        }
        else
        {
            PairSums4Pair<TScales>(first, second, q, token, y, ldy, prefetch, prefetchLines);
        }
    }

    /// <summary>Sixteen rows × four tokens: each broadcast activation word feeds both groups' products, halving the
    /// broadcasts per vpdpbusd. Per output the operations are those of <see cref="Group4{TScales}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DotProduct4Pair<TScales>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
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
        var offset0 = q.NibbleOffsets + ((long)token * Blocks);
        var offset1 = offset0 + Blocks;
        var offset2 = offset1 + Blocks;
        var offset3 = offset2 + Blocks;
        var mask = Vector256.Create((byte)0x0F);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var b = 0; b < blocks; b++)
        {
            PrefetchShare(prefetch, prefetchLines, b, blocks);

            var blockA = first + (b * stride);
            var blockB = second + (b * stride);
            var o = b * 32;
            Vector256<int> d0 = Vector256.Create(offset0[b]), e0 = d0;
            Vector256<int> d1 = Vector256.Create(offset1[b]), e1 = d1;
            Vector256<int> d2 = Vector256.Create(offset2[b]), e2 = d2;
            Vector256<int> d3 = Vector256.Create(offset3[b]), e3 = d3;
            for (var k = 0; k < 4; k++)
            {
                var rawA = Vector256.Load(blockA + InterleavedLayout.ScaleBytes + (k * 32));
                var rawB = Vector256.Load(blockB + InterleavedLayout.ScaleBytes + (k * 32));
                var lowA = rawA & mask;
                var highA = NibbleChunks.High(rawA);
                var lowB = rawB & mask;
                var highB = NibbleChunks.High(rawB);
                var c = o + (8 * k);
                var xl = Broadcast(x0 + c);
                var xh = Broadcast(x0 + c + 4);
                d0 = IntegerDot.Accumulate(IntegerDot.Accumulate(d0, lowA, xl), highA, xh);
                e0 = IntegerDot.Accumulate(IntegerDot.Accumulate(e0, lowB, xl), highB, xh);
                xl = Broadcast(x1 + c);
                xh = Broadcast(x1 + c + 4);
                d1 = IntegerDot.Accumulate(IntegerDot.Accumulate(d1, lowA, xl), highA, xh);
                e1 = IntegerDot.Accumulate(IntegerDot.Accumulate(e1, lowB, xl), highB, xh);
                xl = Broadcast(x2 + c);
                xh = Broadcast(x2 + c + 4);
                d2 = IntegerDot.Accumulate(IntegerDot.Accumulate(d2, lowA, xl), highA, xh);
                e2 = IntegerDot.Accumulate(IntegerDot.Accumulate(e2, lowB, xl), highB, xh);
                xl = Broadcast(x3 + c);
                xh = Broadcast(x3 + c + 4);
                d3 = IntegerDot.Accumulate(IntegerDot.Accumulate(d3, lowA, xl), highA, xh);
                e3 = IntegerDot.Accumulate(IntegerDot.Accumulate(e3, lowB, xl), highB, xh);
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
    private void Group4<TScales>(byte* group, QuantizedActivations q, int token, float* y, int ldy)
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
        var offset0 = q.NibbleOffsets + ((long)token * Blocks);
        var offset1 = offset0 + Blocks;
        var offset2 = offset1 + Blocks;
        var offset3 = offset2 + Blocks;
        var mask = Vector256.Create((byte)0x0F);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var block = group + (b * stride);
            var o = b * 32;
            var d0 = Vector256.Create(offset0[b]);
            var d1 = Vector256.Create(offset1[b]);
            var d2 = Vector256.Create(offset2[b]);
            var d3 = Vector256.Create(offset3[b]);
            for (var k = 0; k < 4; k++)
            {
                var raw = Vector256.Load(block + InterleavedLayout.ScaleBytes + (k * 32));
                var low = raw & mask;
                var high = NibbleChunks.High(raw);
                var c = o + (8 * k);
                d0 = IntegerDot.Accumulate(IntegerDot.Accumulate(d0, low, Broadcast(x0 + c)), high, Broadcast(x0 + c + 4));
                d1 = IntegerDot.Accumulate(IntegerDot.Accumulate(d1, low, Broadcast(x1 + c)), high, Broadcast(x1 + c + 4));
                d2 = IntegerDot.Accumulate(IntegerDot.Accumulate(d2, low, Broadcast(x2 + c)), high, Broadcast(x2 + c + 4));
                d3 = IntegerDot.Accumulate(IntegerDot.Accumulate(d3, low, Broadcast(x3 + c)), high, Broadcast(x3 + c + 4));
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

    /// <summary>Every byte of the row's chunks becomes 0x88: nibble 8 is the value 0 once the −8 offset applies.</summary>
    protected override void ZeroScaled(byte* block, int unit)
    {
        for (var k = 0; k < 4; k++)
        {
            ((uint*)(block + InterleavedLayout.ScaleBytes))[(k * InterleavedLayout.Rows) + unit] = 0x88888888u;
        }
    }

    /// <summary>Stored Q4_0 byte j holds column j (low nibble) and column j+16 (high nibble); with the four-byte
    /// words A = bytes 0..3, B = 4..7, C = 8..11, D = 12..15, the four chunks of a row are built four bytes at a time.</summary>
    protected override void RepackGroup(int group)
    {
        var source = (byte*)Weight.Data;
        var rowBytes = Weight.RowBytes;
        for (var b = 0; b < Blocks; b++)
        {
            var destination = GroupStart(group) + (b * GroupBlockBytes);
            for (var r = 0; r < InterleavedLayout.Rows; r++)
            {
                var block = source + (((long)group * InterleavedLayout.Rows) + r) * rowBytes + (b * Q4_0.BlockBytes);
                ((ushort*)destination)[r] = *(ushort*)block;
                var chunks = (uint*)(destination + InterleavedLayout.ScaleBytes) + r;
                NibbleChunks.Interleave(Unsafe.ReadUnaligned<uint>(block + 2), Unsafe.ReadUnaligned<uint>(block + 6), out chunks[0], out chunks[16]);
                NibbleChunks.Interleave(Unsafe.ReadUnaligned<uint>(block + 10), Unsafe.ReadUnaligned<uint>(block + 14), out chunks[8], out chunks[24]);
            }
        }
    }
}
