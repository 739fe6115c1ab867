using System.Runtime.Intrinsics;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Widens stored weights of a floating-point type to fp32, eight (vector) or one (tail) at a time. Generic
/// kernels take the loader as a struct type argument so the JIT specialises each one without virtual calls.</summary>
internal unsafe interface IFloatRowLoader
{
    /// <summary>Bytes per stored element.</summary>
    static abstract int ElementBytes { get; }

    static abstract Vector256<float> Load8(byte* row, int index);

    /// <summary>Sixteen at a time, for CPUs with 512-bit vectors: half the instructions per weight, which is what
    /// limits single-token products over fp16 weights (the widening costs more than the multiply-add).</summary>
    static abstract Vector512<float> Load16(byte* row, int index);

    static abstract float Load1(byte* row, int index);
}
