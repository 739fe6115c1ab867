using System.Runtime.Intrinsics;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Matrix product over fp32/fp16/bf16 weights with fp32 activations. Four tokens share each loaded weight
/// vector so batched steps read the weights once per four rows of activations.</summary>
internal sealed unsafe class FloatMatMul<TLoader> : IMatMulKernel
    where TLoader : struct, IFloatRowLoader
{
    private const int TokenTile = 4;

    private readonly byte* _weights;
    private readonly int _columns;
    private readonly long _rowBytes;

    public FloatMatMul(WeightTensor weight)
    {
        Weight = weight;
        Rows = (int)weight.Rows;
        _columns = (int)weight.Columns;
        _rowBytes = weight.RowBytes;
        _weights = (byte*)weight.Data;
    }

    public WeightTensor Weight { get; }

    public int Rows { get; }

    public bool UsesQuantizedInput => false;

    public void Compute(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
    {
        var t = 0;
        for (; t + TokenTile <= input.Tokens; t += TokenTile)
        {
            Tile4(input.Values + ((long)t * _columns), y + ((long)t * ldy), ldy, rowStart, rowEnd);
        }

        for (; t < input.Tokens; t++)
        {
            Single(input.Values + ((long)t * _columns), y + ((long)t * ldy), rowStart, rowEnd);
        }
    }

    private void Single(float* x, float* y, int rowStart, int rowEnd)
    {
        var vectorEnd = _columns & ~7;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = _weights + (r * _rowBytes);
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            var i = 0;
            for (; i + 16 <= vectorEnd; i += 16)
            {
                acc0 = Vector256.FusedMultiplyAdd(TLoader.Load8(row, i), Vector256.Load(x + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(TLoader.Load8(row, i + 8), Vector256.Load(x + i + 8), acc1);
            }

            for (; i < vectorEnd; i += 8)
            {
                acc0 = Vector256.FusedMultiplyAdd(TLoader.Load8(row, i), Vector256.Load(x + i), acc0);
            }

            var sum = Vector256.Sum(acc0 + acc1);
            for (; i < _columns; i++)
            {
                sum += TLoader.Load1(row, i) * x[i];
            }

            y[r] = sum;
        }
    }

    private void Tile4(float* x, float* y, int ldy, int rowStart, int rowEnd)
    {
        var vectorEnd = _columns & ~7;
        var x1 = x + _columns;
        var x2 = x1 + _columns;
        var x3 = x2 + _columns;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = _weights + (r * _rowBytes);
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            var i = 0;
            for (; i < vectorEnd; i += 8)
            {
                var w = TLoader.Load8(row, i);
                a0 = Vector256.FusedMultiplyAdd(w, Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(w, Vector256.Load(x1 + i), a1);
                a2 = Vector256.FusedMultiplyAdd(w, Vector256.Load(x2 + i), a2);
                a3 = Vector256.FusedMultiplyAdd(w, Vector256.Load(x3 + i), a3);
            }

            float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
            for (; i < _columns; i++)
            {
                var w = TLoader.Load1(row, i);
                s0 += w * x[i];
                s1 += w * x1[i];
                s2 += w * x2[i];
                s3 += w * x3[i];
            }

            y[r] = s0;
            y[ldy + r] = s1;
            y[(2 * ldy) + r] = s2;
            y[(3 * ldy) + r] = s3;
        }
    }
}
