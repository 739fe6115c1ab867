using System.Diagnostics.CodeAnalysis;

namespace Serving.Kernels.Tensors;

/// <summary>Element types of stored tensors, numbered as in the GGUF format (ggml_type).</summary>
[SuppressMessage("Naming", "CA1707", Justification = "Names match the GGUF specification (Q4_0, Q8_0) that users see in files and tools.")]
public enum GgmlType
{
    /// <summary>IEEE 754 single precision.</summary>
    F32 = 0,

    /// <summary>IEEE 754 half precision.</summary>
    F16 = 1,

    /// <summary>Blocks of 32 weights: one fp16 scale and 32 four-bit values offset by 8.</summary>
    Q4_0 = 2,

    /// <summary>Blocks of 32: fp16 scale and minimum, 32 four-bit values.</summary>
    Q4_1 = 3,

    /// <summary>Blocks of 32: fp16 scale, 32 five-bit values.</summary>
    Q5_0 = 6,

    /// <summary>Blocks of 32: fp16 scale and minimum, 32 five-bit values.</summary>
    Q5_1 = 7,

    /// <summary>Blocks of 32 weights: one fp16 scale and 32 signed bytes.</summary>
    Q8_0 = 8,

    /// <summary>Blocks of 32: fp16 scale and sum, 32 signed bytes.</summary>
    Q8_1 = 9,

    /// <summary>k-quant, 2 bits.</summary>
    Q2_K = 10,

    /// <summary>k-quant, 3 bits.</summary>
    Q3_K = 11,

    /// <summary>k-quant, 4 bits.</summary>
    Q4_K = 12,

    /// <summary>k-quant, 5 bits.</summary>
    Q5_K = 13,

    /// <summary>k-quant, 6 bits.</summary>
    Q6_K = 14,

    /// <summary>k-quant, 8 bits.</summary>
    Q8_K = 15,

    /// <summary>Signed 8-bit integers.</summary>
    I8 = 24,

    /// <summary>Signed 16-bit integers.</summary>
    I16 = 25,

    /// <summary>Signed 32-bit integers.</summary>
    I32 = 26,

    /// <summary>Signed 64-bit integers.</summary>
    I64 = 27,

    /// <summary>IEEE 754 double precision.</summary>
    F64 = 28,

    /// <summary>bfloat16: the upper half of an fp32.</summary>
    BF16 = 30,
}
