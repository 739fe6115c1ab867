using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

// Q4_0x8MatMul, part: the one-token kernel for CPUs with AVX2 but neither AVX-VNNI nor AVX-512BW (AMD Zen 2 and 3,
// Intel before Alder Lake's client cores), products into 16-bit lanes as the 512-bit kernels do.
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
}
