using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Numerics;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q4_K and Q5_K weights × int8 activations, straight from the stored super-blocks. Each sub-block of 32 weights
/// lines up with one activation block, so its dot product is dx·(d·sc·Σ q·x − dmin·m·Σ x): the levels go into the
/// integer dot product as unsigned bytes (Q5_K's fifth bits moved into bit 4 of its nibbles) and the minimum comes
/// back out through the activation block's sum, for all eight sub-blocks of a super-block in one vector operation.
/// </summary>
internal sealed unsafe class AffineKQuantMatMul<TLayout> : SuperBlockMatMul
    where TLayout : struct, IAffineKQuantLayout
{
    public AffineKQuantMatMul(WeightTensor weight)
        : base(weight)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override float Dot(byte* row, QuantizedActivations q, int token)
    {
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
        var sums = q.Sums + ((long)token * Blocks);
        ref var halves = ref HalfTable.Start;
        var mask = Vector256.Create((byte)0x0F);
        var bit4 = Vector256.Create((byte)0x10);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var minimumAcc = Vector256<float>.Zero;
        for (var s = 0; s < SuperBlocks; s++)
        {
            var block = row + (s * TLayout.BlockBytes);
            var d = Unsafe.Add(ref halves, *(ushort*)block);
            var dmin = Unsafe.Add(ref halves, *(ushort*)(block + 2));
            KQuantScaleVectors.Unpack(block + 4, out var scales, out var minimums);
            var dx = Vector256.Load(xs + (s * 8));
            var coefficients = scales * dx * d;
            minimumAcc = Fma.MultiplyAdd(minimums * dmin, dx * Avx.ConvertToVector256Single(Vector256.Load(sums + (s * 8))), minimumAcc);
            var x = xq + (s * 256);
            var quants = block + TLayout.QuantsOffset;
            var fifthBits = TLayout.HasFifthBits ? Vector256.Load(block + Q5_K.HighBitsOffset).AsUInt16() : default;
            for (var i = 0; i < 4; i++)
            {
                var raw = Vector256.Load(quants + (32 * i));
                var low = raw & mask;
                var high = NibbleChunks.High(raw);
                if (TLayout.HasFifthBits)
                {
                    // Sub-block 2i's fifth bit is bit 2i of each byte and sub-block 2i+1's bit 2i+1; both move to bit
                    // 4 (16-bit shifts by at most 4 keep every bit inside its byte before the mask).
                    low |= (2 * i <= 4 ? fifthBits << (4 - (2 * i)) : fifthBits >>> ((2 * i) - 4)).AsByte() & bit4;
                    high |= ((2 * i) + 1 <= 4 ? fifthBits << (3 - (2 * i)) : fifthBits >>> ((2 * i) - 3)).AsByte() & bit4;
                }

                var dot0 = IntegerDot.Accumulate(Vector256<int>.Zero, low, Vector256.Load(x + (64 * i)));
                var dot1 = IntegerDot.Accumulate(Vector256<int>.Zero, high, Vector256.Load(x + (64 * i) + 32));
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot0), Avx2.PermuteVar8x32(coefficients, Vector256.Create(2 * i)), acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot1), Avx2.PermuteVar8x32(coefficients, Vector256.Create((2 * i) + 1)), acc1);
            }
        }

        return Vector256.Sum(acc0 + acc1) - Vector256.Sum(minimumAcc);
    }
}
