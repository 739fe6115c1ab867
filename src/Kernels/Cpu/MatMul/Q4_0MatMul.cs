using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Serving.Kernels.Numerics;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q4_0 weights × int8 activations, straight from the stored blocks. The nibbles are used as unsigned bytes (0..15)
/// in the integer dot product and the −8 offset is folded in through the activation block's sum:
/// Σ (q−8)·x = Σ q·x − 8·Σ x. Batches reuse each unpacked weight block for four tokens.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal sealed unsafe class Q4_0MatMul : StoredLayoutMatMul
{
    public Q4_0MatMul(WeightTensor weight)
        : base(weight)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Unpack(byte* block)
    {
        var raw = Vector128.Load(block + 2);
        var mask = Vector128.Create((byte)0x0F);
        var low = raw & mask;
        var high = NibbleChunks.High(raw);
        return Vector256.Create(low, high);
    }

    /// <summary>One accumulator over the blocks in order, exactly as each token of <see cref="Tile4"/> sums them, so a
    /// token's outputs do not depend on how many tokens share its step.</summary>
    protected override void Single(QuantizedActivations q, int token, float* y, int rowStart, int rowEnd)
    {
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
        var offsets = q.NibbleOffsets + ((long)token * Blocks);
        ref var halves = ref HalfTable.Start;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = Weights + (r * RowBytes);
            var acc = Vector256<float>.Zero;
            for (var b = 0; b < Blocks; b++)
            {
                var block = row + (b * Q4_0.BlockBytes);
                var dot = IntegerDot.Accumulate(Vector256.CreateScalar(offsets[b]), Unpack(block), Vector256.Load(xq + (b * 32)));
                acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(Unsafe.Add(ref halves, *(ushort*)block) * xs[b]), acc);
            }

            y[r] = Vector256.Sum(acc);
        }
    }

    protected override void Tile4(QuantizedActivations q, int token, float* y, int ldy, int rowStart, int rowEnd)
    {
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
        var offsets = q.NibbleOffsets + ((long)token * Blocks);
        ref var halves = ref HalfTable.Start;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = Weights + (r * RowBytes);
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (var b = 0; b < Blocks; b++)
            {
                var block = row + (b * Q4_0.BlockBytes);
                var w = Unpack(block);
                var dw = Unsafe.Add(ref halves, *(ushort*)block);
                var x0 = xq + (b * 32);
                var dot0 = IntegerDot.Accumulate(Vector256.CreateScalar(offsets[b]), w, Vector256.Load(x0));
                var dot1 = IntegerDot.Accumulate(Vector256.CreateScalar(offsets[Blocks + b]), w, Vector256.Load(x0 + Columns));
                var dot2 = IntegerDot.Accumulate(Vector256.CreateScalar(offsets[(2 * Blocks) + b]), w, Vector256.Load(x0 + (2 * Columns)));
                var dot3 = IntegerDot.Accumulate(Vector256.CreateScalar(offsets[(3 * Blocks) + b]), w, Vector256.Load(x0 + (3 * Columns)));
                a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot0), Vector256.Create(dw * xs[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot1), Vector256.Create(dw * xs[Blocks + b]), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot2), Vector256.Create(dw * xs[(2 * Blocks) + b]), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot3), Vector256.Create(dw * xs[(3 * Blocks) + b]), a3);
            }

            y[r] = Vector256.Sum(a0);
            y[ldy + r] = Vector256.Sum(a1);
            y[(2 * ldy) + r] = Vector256.Sum(a2);
            y[(3 * ldy) + r] = Vector256.Sum(a3);
        }
    }
}
