using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Numerics;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q6_K weights × int8 activations, straight from the stored super-blocks. The six-bit values go in unsigned
/// (0..63) and each 16-weight group's signed scale is applied in the integer domain: <c>pmaddubsw</c> gives pairs of
/// products in 16-bit lanes (at most 2·63·127, no saturation) and <c>pmaddwd</c> against the group scales adds them
/// into int32, so one conversion and one multiply-add per 32 weights remain. The −32 offset comes back out once per
/// super-block through the activations' half-block sums: Σ sc·(q − 32)·x = Σ sc·q·x − 32·Σ sc·Σx.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal sealed unsafe class Q6_KMatMul : SuperBlockMatMul
{
    public Q6_KMatMul(WeightTensor weight)
        : base(weight)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override float Dot(byte* row, QuantizedActivations q, int token)
    {
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
        var halfSums = q.HalfSums + ((long)token * Blocks * 2);
        ref var halves = ref HalfTable.Start;
        var acc = Vector256<float>.Zero;
        var offsetAcc = Vector256<float>.Zero;
        for (var s = 0; s < SuperBlocks; s++)
        {
            var block = row + (s * Q6_K.BlockBytes);
            var d = Unsafe.Add(ref halves, *(ushort*)(block + Q6_K.ScaleOffset));
            var scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(block + Q6_K.ScalesOffset)));
            var dx = Vector256.Load(xs + (s * 8)) * d;
            var scaledSums = Avx2.MultiplyAddAdjacent(scales, Vector256.Load(halfSums + (s * 16)));
            offsetAcc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(scaledSums), dx, offsetAcc);
            var x = xq + (s * Q6_K.BlockSize);
            // Both 128-bit lanes hold one half's eight group scales, so one in-lane byte shuffle per 32 weights
            // spreads its two groups' scales over the eight 16-bit pairs each covers.
            var highBits = block + Q6_K.HighBitsOffset;
            acc = Half(acc, block, highBits, x, Avx2.Permute2x128(scales, scales, 0x00).AsByte(), dx, 0);
            acc = Half(acc, block + 64, highBits + 32, x + 128, Avx2.Permute2x128(scales, scales, 0x11).AsByte(), dx, 4);
        }

        return Vector256.Sum(acc) - (32 * Vector256.Sum(offsetAcc));
    }

    /// <summary>Adds one half super-block: 128 weights from 64 nibble bytes and 32 bit-pair bytes (layout in
    /// <see cref="Q6_K"/>), activation blocks <paramref name="firstBlock"/> to <paramref name="firstBlock"/> + 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Half(
        Vector256<float> acc, byte* nibbles, byte* highBits, sbyte* x, Vector256<byte> halfScales, Vector256<float> dx, int firstBlock)
    {
        var nibble = Vector256.Create((byte)0x0F);
        var pair = Vector256.Create((byte)0x30);
        var ql0 = Vector256.Load(nibbles);
        var ql1 = Vector256.Load(nibbles + 32);
        var qh = Vector256.Load(highBits).AsUInt16();
        acc = Group(acc, (ql0 & nibble) | ((qh << 4).AsByte() & pair), x, halfScales, 0, dx, firstBlock);
        acc = Group(acc, (ql1 & nibble) | ((qh << 2).AsByte() & pair), x + 32, halfScales, 1, dx, firstBlock + 1);
        acc = Group(acc, NibbleChunks.High(ql0) | (qh.AsByte() & pair), x + 64, halfScales, 2, dx, firstBlock + 2);
        return Group(acc, NibbleChunks.High(ql1) | ((qh >>> 2).AsByte() & pair), x + 96, halfScales, 3, dx, firstBlock + 3);
    }

    /// <summary>Adds the 32 weights <paramref name="values"/> (groups 2k and 2k+1 of the half) times their activations,
    /// scaled by the groups' scales and activation block <paramref name="block"/>'s scale·d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Group(
        Vector256<float> acc, Vector256<byte> values, sbyte* x, Vector256<byte> halfScales, int k, Vector256<float> dx, int block)
    {
        var products = Avx2.MultiplyAddAdjacent(values, Vector256.Load(x));
        var control = Vector256.Create(
            Vector128.Create((ushort)(((4 * k) + 1) << 8 | (4 * k))).AsByte(),
            Vector128.Create((ushort)(((4 * k) + 3) << 8 | ((4 * k) + 2))).AsByte());
        var groupScales = Avx2.Shuffle(halfScales, control).AsInt16();
        var sums = Avx2.MultiplyAddAdjacent(products, groupScales);
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), Avx2.PermuteVar8x32(dx, Vector256.Create(block)), acc);
    }
}
