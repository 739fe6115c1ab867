using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>What the interleaved 4-bit layouts (<see cref="Q4_0x8MatMul"/>, <see cref="AffineKQuantx8MatMul{TLayout}"/>, <see cref="Q6_Kx8MatMul"/>) share: a
/// 32-byte chunk holds four consecutive values of each of eight rows in its low nibbles and the next four in its high
/// nibbles.</summary>
internal static class NibbleChunks
{
    /// <summary>One chunk's products in 16-bit pairs: low nibbles × four activations (<paramref name="xl"/>) plus
    /// high nibbles × the next four (<paramref name="xh"/>); a pair is at most 2 · 15 · 127 = 3,810.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> PairSums(Vector256<byte> raw, Vector256<byte> mask, Vector256<sbyte> xl, Vector256<sbyte> xh) =>
        Avx2.MultiplyAddAdjacent(raw & mask, xl) + Avx2.MultiplyAddAdjacent((raw.AsUInt16() >>> 4).AsByte() & mask, xh);

    /// <summary>From the four-byte words <paramref name="a"/> and <paramref name="b"/> of stored nibbles (values
    /// i..i+3 and i+4..i+7 of two 32-value runs, the first run in the low nibbles), one row's word of the first run's
    /// chunk and of the second run's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Interleave(uint a, uint b, out uint lowRun, out uint highRun)
    {
        const uint low = 0x0F0F0F0F;
        const uint high = 0xF0F0F0F0;
        lowRun = (a & low) | ((b & low) << 4);
        highRun = ((a >> 4) & low) | (b & high);
    }
}
