using Serving.Kernels.Tensors;

namespace Serving.Kernels.Onnx;

/// <summary>How a weight matrix is lowered to ONNX Runtime.</summary>
internal enum MatrixLowering
{
    /// <summary>fp32 <c>Gemm</c> with transB = 1 on our <c>[out, in]</c> rows (widened once where stored narrower).</summary>
    Gemm,

    /// <summary><c>com.microsoft.MatMulNBits</c>, 4 bits, blocks of 32, default zero point 8 (Q4_0's offset).</summary>
    NBits4,

    /// <summary><c>com.microsoft.MatMulNBits</c>, 8 bits, blocks of 32, default zero point 128 (Q8_0 stored +128).</summary>
    NBits8,
}

/// <summary>A weight matrix <c>[Rows = out, Columns = in]</c> as the graph sees it: its initializer name(s) and
/// lowering. Decided from the storage type alone, so graphs can be built without touching weight bytes.</summary>
internal sealed record OnnxMatrix(string Name, long Rows, long Columns, MatrixLowering Lowering)
{
    /// <summary>Block length of MatMulNBits, equal to the GGUF Q4_0/Q8_0 block.</summary>
    public const int BlockSize = 32;

    /// <summary>Name of the fp32 per-block scales of a MatMulNBits matrix.</summary>
    public string ScalesName => Name + ".scales";

    /// <summary>Quantization blocks per row.</summary>
    public long Blocks => Columns / BlockSize;

    /// <summary>Bits per weight of a MatMulNBits matrix.</summary>
    public int Bits => Lowering == MatrixLowering.NBits4 ? 4 : 8;

    /// <summary>Bytes of one block in MatMulNBits' B layout.</summary>
    public int BlobBytes => BlockSize * Bits / 8;

    public static OnnxMatrix For(string name, WeightTensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var lowering = weight.Type switch
        {
            GgmlType.Q4_0 => MatrixLowering.NBits4,
            GgmlType.Q8_0 => MatrixLowering.NBits8,

            // fp16/bf16 are widened to fp32 once (twice the bytes of the stored matrix): exact, and MLAS' fp32 GEMM
            // is its fastest dense path on CPUs without fp16 arithmetic.
            GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => MatrixLowering.Gemm,

            // k-quants have per-sub-block minimums (Q4_K, Q5_K) or 6-bit values (Q6_K), which MatMulNBits' integer
            // zero points and 4/8-bit codes cannot hold exactly; their fp32 values are.
            GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => MatrixLowering.Gemm,
            _ => throw new NotSupportedException($"tensor {weight.Name}: no ONNX lowering for type {weight.Type}"),
        };
        return new OnnxMatrix(name, weight.Rows, weight.Columns, lowering);
    }
}
