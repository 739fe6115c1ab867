using Serving.Kernels.Quantization;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>The stored layout of an affine k-quant (Q4_K or Q5_K), as constants the JIT folds into
/// <see cref="AffineKQuantMatMul{TLayout}"/>.</summary>
internal interface IAffineKQuantLayout
{
    static abstract int BlockBytes { get; }

    static abstract int QuantsOffset { get; }

    /// <summary>Whether 32 bytes of fifth bits precede the nibbles (Q5_K).</summary>
    static abstract bool HasFifthBits { get; }
}

/// <summary>Q4_K's layout.</summary>
internal readonly struct Q4_KLayout : IAffineKQuantLayout
{
    public static int BlockBytes => Q4_K.BlockBytes;

    public static int QuantsOffset => Q4_K.QuantsOffset;

    public static bool HasFifthBits => false;
}

/// <summary>Q5_K's layout.</summary>
internal readonly struct Q5_KLayout : IAffineKQuantLayout
{
    public static int BlockBytes => Q5_K.BlockBytes;

    public static int QuantsOffset => Q5_K.QuantsOffset;

    public static bool HasFifthBits => true;
}
