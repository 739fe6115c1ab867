namespace Serving.Kernels.Cpu.MatMul;

/// <summary>The activations a matrix product reads: <see cref="Tokens"/> rows of fp32 values and, for the integer
/// kernels, the same rows quantized to int8 blocks.</summary>
internal readonly unsafe struct MatMulInput
{
    public MatMulInput(float* values, QuantizedActivations? quantized, int tokens, int columns)
    {
        Values = values;
        Quantized = quantized;
        Tokens = tokens;
        Columns = columns;
    }

    public float* Values { get; }

    public QuantizedActivations? Quantized { get; }

    public int Tokens { get; }

    public int Columns { get; }
}
