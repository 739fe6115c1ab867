using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// What the integer kernels over the stored GGUF block layout share (used where the interleaved repack does not
/// apply): the weight geometry and the walk over groups of four tokens, then single tokens, falling back to the
/// portable kernel on CPUs without AVX2.
/// </summary>
internal abstract unsafe class StoredLayoutMatMul : IMatMulKernel
{
    private const int TokenTile = 4;

    protected StoredLayoutMatMul(WeightTensor weight)
    {
        Weight = weight;
        Rows = (int)weight.Rows;
        Columns = (int)weight.Columns;
        Blocks = Columns / 32;
        RowBytes = weight.RowBytes;
        Weights = (byte*)weight.Data;
    }

    public WeightTensor Weight { get; }

    public int Rows { get; }

    public bool UsesQuantizedInput => true;

    protected byte* Weights { get; }

    protected int Columns { get; }

    protected int Blocks { get; }

    protected long RowBytes { get; }

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

    /// <summary>Rows [rowStart, rowEnd) for one token.</summary>
    protected abstract void Single(QuantizedActivations q, int token, float* y, int rowStart, int rowEnd);

    /// <summary>Rows [rowStart, rowEnd) for four consecutive tokens, outputs <paramref name="ldy"/> apart.</summary>
    protected abstract void Tile4(QuantizedActivations q, int token, float* y, int ldy, int rowStart, int rowEnd);
}
