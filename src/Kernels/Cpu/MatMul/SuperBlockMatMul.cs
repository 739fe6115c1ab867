namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// What the k-quant kernels (256-weight super-blocks read in their stored layout) share: every output is one row's
/// dot product with one token's int8 activations, so batches reuse a row while it is in L1, and one to three tokens
/// read four row sections in step (see <see cref="ISectionedMatMulKernel"/>) to keep more bytes in flight.
/// </summary>
internal abstract unsafe class SuperBlockMatMul : StoredLayoutMatMul, ISectionedMatMulKernel
{
    protected SuperBlockMatMul(Tensors.WeightTensor weight)
        : base(weight)
    {
        SuperBlocks = Columns / 256;
    }

    public int Sections => 4;

    protected int SuperBlocks { get; }

    public void ComputeSections(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd, int sectionRows)
    {
        var q = input.Quantized!;
        if (!IntegerDot.IsSupported)
        {
            for (var j = 0; j < Sections; j++)
            {
                var offset = j * sectionRows;
                PortableMatMul.Compute(Weight, input, y, ldy, rowStart + offset, rowEnd + offset);
            }

            return;
        }

        var sectionBytes = sectionRows * RowBytes;
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = Weights + (r * RowBytes);
            for (var t = 0; t < input.Tokens; t++)
            {
                var output = y + ((long)t * ldy) + r;
                output[0] = Dot(row, q, t);
                output[sectionRows] = Dot(row + sectionBytes, q, t);
                output[2 * sectionRows] = Dot(row + (2 * sectionBytes), q, t);
                output[3 * sectionRows] = Dot(row + (3 * sectionBytes), q, t);
            }
        }
    }

    protected override void Single(QuantizedActivations q, int token, float* y, int rowStart, int rowEnd)
    {
        for (var r = rowStart; r < rowEnd; r++)
        {
            y[r] = Dot(Weights + (r * RowBytes), q, token);
        }
    }

    protected override void Tile4(QuantizedActivations q, int token, float* y, int ldy, int rowStart, int rowEnd)
    {
        for (var r = rowStart; r < rowEnd; r++)
        {
            var row = Weights + (r * RowBytes);
            y[r] = Dot(row, q, token);
            y[ldy + r] = Dot(row, q, token + 1);
            y[(2 * ldy) + r] = Dot(row, q, token + 2);
            y[(3 * ldy) + r] = Dot(row, q, token + 3);
        }
    }

    /// <summary>The dot product of the stored row at <paramref name="row"/> with token <paramref name="token"/>'s
    /// activations.</summary>
    protected abstract float Dot(byte* row, QuantizedActivations q, int token);
}
