using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// Matrix product over fp32/fp16/bf16 weights with fp32 activations, in tiles of four rows × one or four tokens
/// (<typeparamref name="TTiles"/> holds the loops at the CPU's vector width). Every output is summed in the same
/// order whatever the tile: one accumulator over the whole vectors, its horizontal sum, then the leftover columns one
/// by one. So a token's result does not depend on how many other tokens share the step: batching never changes a
/// sequence's logits. Single-token steps read the stored weights directly (four rows give four independent FMA
/// chains; given sections, four rows a section apart); batched steps first widen four rows once into an fp32 panel (fp16/bf16 widening costs more instructions
/// than the multiply-adds it feeds) and reuse it for every token.
/// </summary>
internal sealed unsafe class FloatMatMul<TLoader, TTiles> : ISectionedMatMulKernel
    where TLoader : struct, IFloatRowLoader
    where TTiles : struct, IFloatTiles
{
    private const int TokenTile = 4;
    private const int RowTile = 4;

    /// <summary>Bytes of fp32 activations one pass over the rows serves: half of a 1 MiB L2.</summary>
    private const long ActivationBlockBytes = 512 * 1024;

    [ThreadStatic]
    private static float[]? _panel;

    /// <summary>A thread's activations scaled by 2^112 for the fp16 sections (see <see cref="ComputeSections"/>).</summary>
    [ThreadStatic]
    private static float[]? _scaled;

    private readonly byte* _weights;
    private readonly int _columns;
    private readonly int _vectorEnd;
    private readonly long _rowBytes;

    public FloatMatMul(WeightTensor weight)
    {
        Weight = weight;
        Rows = (int)weight.Rows;
        _columns = (int)weight.Columns;
        _vectorEnd = _columns - (_columns % TTiles.Width);
        _rowBytes = weight.RowBytes;
        _weights = (byte*)weight.Data;
    }

    public WeightTensor Weight { get; }

    public int Rows { get; }

    public bool UsesQuantizedInput => false;

    /// <summary>Four, one per row that <see cref="IFloatTiles.Stored4x1"/> reads: four far-apart rows instead of four
    /// adjacent ones (whose streams are only a row apart) keep more weight bytes in flight per core.</summary>
    public int Sections => RowTile;

    /// <summary>
    /// For fp16 weights the activations are first scaled by 2^112 (a thread's own copy) so the rows widen without the
    /// rescaling multiply (<see cref="F16ScaledDownRowLoader"/>): the products, and so the sums, are the same bits,
    /// and the multiply shared the two pipes that run the multiply-adds.
    /// </summary>
    public void ComputeSections(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd, int sectionRows)
    {
        if (typeof(TLoader) == typeof(F16FiniteRowLoader))
        {
            var n = input.Tokens * _columns;
            if (_scaled is null || _scaled.Length < n)
            {
                _scaled = GC.AllocateUninitializedArray<float>(n, pinned: true);
            }

            fixed (float* scaled = _scaled)
            {
                if (F16ScaledDownRowLoader.TryScaleUp(input.Values, scaled, n))
                {
                    StoredSections<F16ScaledDownRowLoader>(scaled, input.Tokens, y, ldy, rowStart, rowEnd, sectionRows);
                    return;
                }
            }
        }

        StoredSections<TLoader>(input.Values, input.Tokens, y, ldy, rowStart, rowEnd, sectionRows);
    }

    private void StoredSections<TRowLoader>(float* values, int tokens, float* y, int ldy, int rowStart, int rowEnd, int sectionRows)
        where TRowLoader : struct, IFloatRowLoader
    {
        var sums = stackalloc float[RowTile];
        for (var r = rowStart; r < rowEnd; r++)
        {
            for (var t = 0; t < tokens; t++)
            {
                var x = values + ((long)t * _columns);
                var output = y + ((long)t * ldy);
                TTiles.Stored4x1<TRowLoader>(Row(r), Row(r + sectionRows), Row(r + (2 * sectionRows)), Row(r + (3 * sectionRows)), x, _vectorEnd, sums);
                for (var k = 0; k < RowTile; k++)
                {
                    var row = r + (k * sectionRows);
                    output[row] = _vectorEnd == _columns ? sums[k] : sums[k] + Tail<TRowLoader>(Row(row), x);
                }
            }
        }
    }

    public void Compute(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
    {
        if (input.Tokens >= TokenTile)
        {
            Panels(input, y, ldy, rowStart, rowEnd);
            return;
        }

        // Rows outermost: two or three tokens read each tile of rows while it is in L1, not the whole range once per
        // token.
        var r = rowStart;
        for (; r + RowTile <= rowEnd; r += RowTile)
        {
            PrefetchRows(r + RowTile, rowEnd);
            for (var t = 0; t < input.Tokens; t++)
            {
                Stored4x1(r, input.Values + ((long)t * _columns), y + ((long)t * ldy) + r);
            }
        }

        for (; r < rowEnd; r++)
        {
            for (var t = 0; t < input.Tokens; t++)
            {
                var x = input.Values + ((long)t * _columns);
                y[((long)t * ldy) + r] = WithTail(TTiles.Stored1x1<TLoader>(Row(r), x, _vectorEnd), Row(r), x);
            }
        }
    }

    private byte* Row(int r) => _weights + (r * _rowBytes);

    /// <summary>Touches the start of the next tile's rows. A row of fp16 weights is often exactly one 4 KiB page,
    /// and hardware prefetchers stop at page boundaries, so each new row would otherwise start with a TLB walk and a
    /// full memory latency on the critical path.</summary>
    private void PrefetchRows(int first, int rowEnd)
    {
        var last = Math.Min(first + RowTile, rowEnd);
        for (var r = first; r < last; r++)
        {
            CachePrefetch.Lines(Row(r), 256);
        }
    }

    private void Stored4x1(int r, float* x, float* y)
    {
        var sums = stackalloc float[RowTile];
        TTiles.Stored4x1<TLoader>(Row(r), Row(r + 1), Row(r + 2), Row(r + 3), x, _vectorEnd, sums);
        for (var k = 0; k < RowTile; k++)
        {
            y[k] = WithTail(sums[k], Row(r + k), x);
        }
    }

    /// <summary>A vector sum plus the columns past the last full vector, in order; with none, the sum itself (not
    /// the call and the add of a zero: 5 % of a 64-token fp16 product on one core), the same in every path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float WithTail(float sum, byte* row, float* x) => _vectorEnd == _columns ? sum : sum + Tail(row, x);

    /// <summary>The columns past the last full vector, in order, added after the vector sum. Kept out of line: a
    /// call inside the multiply-add loops' live range makes the JIT spill every accumulator on every iteration.</summary>
    private float Tail(byte* row, float* x) => Tail<TLoader>(row, x);

    private float Tail<TRowLoader>(byte* row, float* x)
        where TRowLoader : struct, IFloatRowLoader
    {
        var sum = 0f;
        for (var i = _vectorEnd; i < _columns; i++)
        {
            sum += TRowLoader.Load1(row, i) * x[i];
        }

        return sum;
    }

    /// <summary>
    /// Tokens go in blocks whose fp32 activations fit in half of L2 (at least one tile of four); within a block
    /// every 4-row panel is widened and passed over by all the block's 4-token tiles. With all tokens in one pass,
    /// a 512-token prompt re-read its 4 MiB of activations from L3 for every 4 rows. Re-widening the rows once per
    /// block costs a few percent of the multiply-adds.
    /// </summary>
    private void Panels(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
    {
        var full = input.Tokens / TokenTile * TokenTile;
        var block = Math.Max(TokenTile, (int)(ActivationBlockBytes / ((long)_columns * sizeof(float))) / TokenTile * TokenTile);
        for (var first = 0; first < full; first += block)
        {
            Panels(input, y, ldy, rowStart, rowEnd, first, Math.Min(full, first + block));
        }

        var r = rowStart;
        for (; r + RowTile <= rowEnd; r += RowTile)
        {
            for (var t = full; t < input.Tokens; t++)
            {
                Stored4x1(r, input.Values + ((long)t * _columns), y + ((long)t * ldy) + r);
            }
        }

        for (; r < rowEnd; r++)
        {
            for (var t = 0; t < input.Tokens; t++)
            {
                var x = input.Values + ((long)t * _columns);
                y[((long)t * ldy) + r] = WithTail(TTiles.Stored1x1<TLoader>(Row(r), x, _vectorEnd), Row(r), x);
            }
        }
    }

    /// <summary>Tokens [<paramref name="firstToken"/>, <paramref name="endToken"/>), a multiple of four, over the
    /// whole 4-row panels of the row range.</summary>
    private void Panels(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd, int firstToken, int endToken)
    {
        var panel = _panel is { } existing && existing.Length >= RowTile * _columns ? existing : (_panel = new float[RowTile * _columns]);
        var sums = stackalloc float[RowTile * TokenTile];
        fixed (float* w = panel)
        {
            // Each tile requests its share of the next panel's stored rows, which Widen would otherwise read cold
            // (a row of fp16 weights is often one 4 KiB page, where the hardware prefetchers stop).
            var panelBytes = (int)(RowTile * _rowBytes);
            var tiles = (endToken - firstToken) / TokenTile;
            var share = ((panelBytes / tiles) + 63) & ~63;
            for (var r = rowStart; r + RowTile <= rowEnd; r += RowTile)
            {
                Widen(r, w);
                var next = Row(r + RowTile);
                for (var t = firstToken; t < endToken; t += TokenTile)
                {
                    var x = input.Values + ((long)t * _columns);
                    CachePrefetch.Lines(next + ((t - firstToken) / TokenTile * share), share);
                    TTiles.Panel4x4(w, x, _columns, _vectorEnd, sums);

                    // The leftover columns come from the stored rows (the panel's values), exactly as in Stored4x1.
                    for (var i = 0; i < TokenTile; i++)
                    {
                        for (var k = 0; k < RowTile; k++)
                        {
                            y[((t + i) * (long)ldy) + r + k] = WithTail(sums[(i * RowTile) + k], Row(r + k), x + (i * _columns));
                        }
                    }
                }
            }
        }
    }

    /// <summary>Sixteen at a time where the CPU has 512-bit vectors: with panels widened once per token block, the
    /// widening was 18 % of a 256-token F16 product at eight at a time.</summary>
    private void Widen(int firstRow, float* panel)
    {
        for (var k = 0; k < RowTile; k++)
        {
            var row = Row(firstRow + k);
            var destination = panel + (k * _columns);
            var i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; i + 16 <= _columns; i += 16)
                {
                    TLoader.Load16(row, i).Store(destination + i);
                }
            }

            for (; i + 8 <= _columns; i += 8)
            {
                TLoader.Load8(row, i).Store(destination + i);
            }

            for (; i < _columns; i++)
            {
                destination[i] = TLoader.Load1(row, i);
            }
        }
    }
}
