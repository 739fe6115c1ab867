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
internal sealed unsafe class Q4_0MatMul : IMatMulKernel
{
    private const int TokenTile = 4;

    private readonly byte* _weights;
    private readonly int _columns;
    private readonly int _blocks;
    private readonly long _rowBytes;

    public Q4_0MatMul(WeightTensor weight)
    {
        Weight = weight;
        Rows = (int)weight.Rows;
        _columns = (int)weight.Columns;
        _blocks = _columns / Q4_0.BlockSize;
        _rowBytes = weight.RowBytes;
        _weights = (byte*)weight.Data;
    }

    public WeightTensor Weight { get; }

    public int Rows { get; }

    public bool UsesQuantizedInput => true;

    public void Compute(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
    {
        var q = input.Quantized!;
        if (!IntegerDot.IsSupported)
        {
            PortableMatMul.Compute(Weight, input, y, ldy, rowStart, rowEnd);
            return;
        }

        var t = 0;
        for (; t + TokenTile <= input.Tokens; t += TokenTile)
        {
            Tile4(q, t, y + ((long)t * ldy), ldy, rowStart, rowEnd);
        }

        for (; t < input.Tokens; t++)
        {
            Single(q, t, y + ((long)t * ldy), rowStart, rowEnd);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Unpack(byte* block)
    {
        var raw = Vector128.Load(block + 2);
        var mask = Vector128.Create((byte)0x0F);
        var low = raw & mask;
        var high = (raw.AsUInt16() >>> 4).AsByte() & mask;
        return Vector256.Create(low, high);
    }

    private void Single(QuantizedActivations q, int token, float* y, int rowStart, int rowEnd)
    {
        var xq = q.Values + ((long)token * _columns);
        var xs = q.Scales + ((long)token * _blocks);
        var xsum = q.Sums + ((long)token * _blocks);
        ref var halves = ref HalfTable.Start;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = _weights + (r * _rowBytes);
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            var b = 0;
            for (; b + 1 < _blocks; b += 2)
            {
                var block0 = row + (b * Q4_0.BlockBytes);
                var block1 = block0 + Q4_0.BlockBytes;
                var dot0 = IntegerDot.Accumulate(Vector256.CreateScalar(-8 * xsum[b]), Unpack(block0), Vector256.Load(xq + (b * 32)));
                var dot1 = IntegerDot.Accumulate(Vector256.CreateScalar(-8 * xsum[b + 1]), Unpack(block1), Vector256.Load(xq + (b * 32) + 32));
                var d0 = Unsafe.Add(ref halves, *(ushort*)block0) * xs[b];
                var d1 = Unsafe.Add(ref halves, *(ushort*)block1) * xs[b + 1];
                acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot0), Vector256.Create(d0), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot1), Vector256.Create(d1), acc1);
            }

            for (; b < _blocks; b++)
            {
                var block = row + (b * Q4_0.BlockBytes);
                var dot = IntegerDot.Accumulate(Vector256.CreateScalar(-8 * xsum[b]), Unpack(block), Vector256.Load(xq + (b * 32)));
                var d = Unsafe.Add(ref halves, *(ushort*)block) * xs[b];
                acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(d), acc0);
            }

            y[r] = Vector256.Sum(acc0 + acc1);
        }
    }

    private void Tile4(QuantizedActivations q, int token, float* y, int ldy, int rowStart, int rowEnd)
    {
        var xq = q.Values + ((long)token * _columns);
        var xs = q.Scales + ((long)token * _blocks);
        var xsum = q.Sums + ((long)token * _blocks);
        ref var halves = ref HalfTable.Start;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = _weights + (r * _rowBytes);
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (var b = 0; b < _blocks; b++)
            {
                var block = row + (b * Q4_0.BlockBytes);
                var w = Unpack(block);
                var dw = Unsafe.Add(ref halves, *(ushort*)block);
                var x0 = xq + (b * 32);
                var dot0 = IntegerDot.Accumulate(Vector256.CreateScalar(-8 * xsum[b]), w, Vector256.Load(x0));
                var dot1 = IntegerDot.Accumulate(Vector256.CreateScalar(-8 * xsum[_blocks + b]), w, Vector256.Load(x0 + _columns));
                var dot2 = IntegerDot.Accumulate(Vector256.CreateScalar(-8 * xsum[(2 * _blocks) + b]), w, Vector256.Load(x0 + (2 * _columns)));
                var dot3 = IntegerDot.Accumulate(Vector256.CreateScalar(-8 * xsum[(3 * _blocks) + b]), w, Vector256.Load(x0 + (3 * _columns)));
                a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot0), Vector256.Create(dw * xs[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot1), Vector256.Create(dw * xs[_blocks + b]), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot2), Vector256.Create(dw * xs[(2 * _blocks) + b]), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot3), Vector256.Create(dw * xs[(3 * _blocks) + b]), a3);
            }

            y[r] = Vector256.Sum(a0);
            y[ldy + r] = Vector256.Sum(a1);
            y[(2 * ldy) + r] = Vector256.Sum(a2);
            y[(3 * ldy) + r] = Vector256.Sum(a3);
        }
    }
}
