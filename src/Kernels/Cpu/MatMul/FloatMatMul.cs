using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Matrix product over fp32/fp16/bf16 weights with fp32 activations. Four tokens share each loaded weight
/// vector so batched steps read the weights once per four rows of activations.</summary>
internal sealed unsafe class FloatMatMul<TLoader> : IMatMulKernel
    where TLoader : struct, IFloatRowLoader
{
    private const int TokenTile = 4;
    private const int RowTile = 4;

    [ThreadStatic]
    private static float[]? _panel;

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
        if (input.Tokens >= TokenTile)
        {
            Panels(input, y, ldy, rowStart, rowEnd);
            return;
        }

        for (var t = 0; t < input.Tokens; t++)
        {
            Single(input.Values + ((long)t * _columns), y + ((long)t * ldy), rowStart, rowEnd);
        }
    }

    private void Single(float* x, float* y, int rowStart, int rowEnd)
    {
        var wideEnd = Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? _columns & ~31 : 0;
        var vectorEnd = _columns & ~7;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = _weights + (r * _rowBytes);
            var wide0 = Vector512<float>.Zero;
            var wide1 = Vector512<float>.Zero;
            var i = 0;
            for (; i < wideEnd; i += 32)
            {
                wide0 = Vector512.FusedMultiplyAdd(TLoader.Load16(row, i), Vector512.Load(x + i), wide0);
                wide1 = Vector512.FusedMultiplyAdd(TLoader.Load16(row, i + 16), Vector512.Load(x + i + 16), wide1);
            }

            var acc = Vector256<float>.Zero;
            for (; i < vectorEnd; i += 8)
            {
                acc = Vector256.FusedMultiplyAdd(TLoader.Load8(row, i), Vector256.Load(x + i), acc);
            }

            var sum = Vector512.Sum(wide0 + wide1) + Vector256.Sum(acc);
            for (; i < _columns; i++)
            {
                sum += TLoader.Load1(row, i) * x[i];
            }

            y[r] = sum;
        }
    }

    /// <summary>
    /// Batched steps are compute-bound: four weight rows are widened to fp32 once into a per-thread panel (fp16 and
    /// bf16 widening costs more instructions than the multiply-adds it feeds), then every group of four tokens is
    /// multiplied against the panel with sixteen independent accumulators.
    /// </summary>
    private void Panels(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
    {
        var panel = _panel is { } existing && existing.Length >= RowTile * _columns ? existing : (_panel = new float[RowTile * _columns]);
        var tokens = input.Tokens;
        fixed (float* w = panel)
        {
            var r = rowStart;
            for (; r + RowTile <= rowEnd; r += RowTile)
            {
                Widen(r, RowTile, w);
                var t = 0;
                for (; t + TokenTile <= tokens; t += TokenTile)
                {
                    Tile4x4(w, input.Values + ((long)t * _columns), y + ((long)t * ldy) + r, ldy);
                }

                for (; t < tokens; t++)
                {
                    for (var k = 0; k < RowTile; k++)
                    {
                        y[((long)t * ldy) + r + k] = VectorOps.Dot(w + (k * _columns), input.Values + ((long)t * _columns), _columns);
                    }
                }
            }

            for (; r < rowEnd; r++)
            {
                Widen(r, 1, w);
                for (var t = 0; t < tokens; t++)
                {
                    y[((long)t * ldy) + r] = VectorOps.Dot(w, input.Values + ((long)t * _columns), _columns);
                }
            }
        }
    }

    private void Widen(int firstRow, int rows, float* panel)
    {
        var vectorEnd = _columns & ~7;
        for (var k = 0; k < rows; k++)
        {
            var row = _weights + ((firstRow + k) * _rowBytes);
            var destination = panel + (k * _columns);
            var i = 0;
            for (; i < vectorEnd; i += 8)
            {
                TLoader.Load8(row, i).Store(destination + i);
            }

            for (; i < _columns; i++)
            {
                destination[i] = TLoader.Load1(row, i);
            }
        }
    }

    private void Tile4x4(float* w, float* x, float* y, int ldy)
    {
        var vectorEnd = _columns & ~7;
        float* w1 = w + _columns, w2 = w1 + _columns, w3 = w2 + _columns;
        float* x1 = x + _columns, x2 = x1 + _columns, x3 = x2 + _columns;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        var i = 0;
        for (; i < vectorEnd; i += 8)
        {
            var v0 = Vector256.Load(w + i);
            var v1 = Vector256.Load(w1 + i);
            var v2 = Vector256.Load(w2 + i);
            var v3 = Vector256.Load(w3 + i);
            var u = Vector256.Load(x + i);
            a00 = Vector256.FusedMultiplyAdd(v0, u, a00);
            a01 = Vector256.FusedMultiplyAdd(v1, u, a01);
            a02 = Vector256.FusedMultiplyAdd(v2, u, a02);
            a03 = Vector256.FusedMultiplyAdd(v3, u, a03);
            u = Vector256.Load(x1 + i);
            a10 = Vector256.FusedMultiplyAdd(v0, u, a10);
            a11 = Vector256.FusedMultiplyAdd(v1, u, a11);
            a12 = Vector256.FusedMultiplyAdd(v2, u, a12);
            a13 = Vector256.FusedMultiplyAdd(v3, u, a13);
            u = Vector256.Load(x2 + i);
            a20 = Vector256.FusedMultiplyAdd(v0, u, a20);
            a21 = Vector256.FusedMultiplyAdd(v1, u, a21);
            a22 = Vector256.FusedMultiplyAdd(v2, u, a22);
            a23 = Vector256.FusedMultiplyAdd(v3, u, a23);
            u = Vector256.Load(x3 + i);
            a30 = Vector256.FusedMultiplyAdd(v0, u, a30);
            a31 = Vector256.FusedMultiplyAdd(v1, u, a31);
            a32 = Vector256.FusedMultiplyAdd(v2, u, a32);
            a33 = Vector256.FusedMultiplyAdd(v3, u, a33);
        }

        Store(y, Vector256.Create(Vector256.Sum(a00), Vector256.Sum(a01), Vector256.Sum(a02), Vector256.Sum(a03), 0, 0, 0, 0), w, x, i);
        Store(y + ldy, Vector256.Create(Vector256.Sum(a10), Vector256.Sum(a11), Vector256.Sum(a12), Vector256.Sum(a13), 0, 0, 0, 0), w, x1, i);
        Store(y + (2 * ldy), Vector256.Create(Vector256.Sum(a20), Vector256.Sum(a21), Vector256.Sum(a22), Vector256.Sum(a23), 0, 0, 0, 0), w, x2, i);
        Store(y + (3 * ldy), Vector256.Create(Vector256.Sum(a30), Vector256.Sum(a31), Vector256.Sum(a32), Vector256.Sum(a33), 0, 0, 0, 0), w, x3, i);
    }

    /// <summary>Writes four row results for one token, adding the columns past the last full vector.</summary>
    private void Store(float* y, Vector256<float> sums, float* w, float* x, int tailStart)
    {
        for (var k = 0; k < RowTile; k++)
        {
            var sum = sums.GetElement(k);
            var row = w + (k * _columns);
            for (var i = tailStart; i < _columns; i++)
            {
                sum += row[i] * x[i];
            }

            y[k] = sum;
        }
    }
}
