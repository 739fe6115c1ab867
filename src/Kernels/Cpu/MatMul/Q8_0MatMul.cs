using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Numerics;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Q8_0 weights × int8 activations from the stored blocks. The integer dot product wants one unsigned operand, so
/// the weight's sign moves onto the activation: Σ w·x = Σ |w|·(sign(w)·x). Q8_0 weights never hold −128, so |w|
/// fits a byte. Batches reuse each loaded weight block for four tokens.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal sealed unsafe class Q8_0MatMul : StoredLayoutMatMul
{
    public Q8_0MatMul(WeightTensor weight)
        : base(weight)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot(Vector256<sbyte> w, Vector256<byte> absW, sbyte* x) =>
        IntegerDot.Accumulate(Vector256<int>.Zero, absW, Avx2.Sign(Vector256.Load(x), w));

    /// <summary>One accumulator over the blocks in order, exactly as each token of <see cref="Tile4"/> sums them, so a
    /// token's outputs do not depend on how many tokens share its step.</summary>
    protected override void Single(QuantizedActivations q, int token, float* y, int rowStart, int rowEnd)
    {
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
        ref var halves = ref HalfTable.Start;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = Weights + (r * RowBytes);
            var acc = Vector256<float>.Zero;
            for (var b = 0; b < Blocks; b++)
            {
                var block = row + (b * Q8_0.BlockBytes);
                var w = Vector256.Load((sbyte*)(block + 2));
                var dot = Dot(w, Vector256.Abs(w).AsByte(), xq + (b * 32));
                acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(Unsafe.Add(ref halves, *(ushort*)block) * xs[b]), acc);
            }

            y[r] = Vector256.Sum(acc);
        }
    }

    protected override void Tile4(QuantizedActivations q, int token, float* y, int ldy, int rowStart, int rowEnd)
    {
        var xq = q.Values + ((long)token * Columns);
        var xs = q.Scales + ((long)token * Blocks);
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
                var block = row + (b * Q8_0.BlockBytes);
                var w = Vector256.Load((sbyte*)(block + 2));
                var absW = Vector256.Abs(w).AsByte();
                var dw = Unsafe.Add(ref halves, *(ushort*)block);
                var x0 = xq + (b * 32);
                a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Dot(w, absW, x0)), Vector256.Create(dw * xs[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Dot(w, absW, x0 + Columns)), Vector256.Create(dw * xs[Blocks + b]), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Dot(w, absW, x0 + (2 * Columns))), Vector256.Create(dw * xs[(2 * Blocks) + b]), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Dot(w, absW, x0 + (3 * Columns))), Vector256.Create(dw * xs[(3 * Blocks) + b]), a3);
            }

            y[r] = Vector256.Sum(a0);
            y[ldy + r] = Vector256.Sum(a1);
            y[(2 * ldy) + r] = Vector256.Sum(a2);
            y[(3 * ldy) + r] = Vector256.Sum(a3);
        }
    }
}
