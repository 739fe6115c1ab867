using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// How <see cref="Q8_0x8MatMul"/>'s kernels multiply a 32-byte weight chunk (eight rows × four columns) by four
/// broadcast activations into the rows' int32 lanes: a constant type argument, so each kernel is compiled once per
/// form. Both give exactly Σ w·x, so outputs do not depend on the form.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
internal interface IQ8_0Products
{
    /// <summary>Whether the repacked weights are stored +128 (offset binary) rather than as signed bytes.</summary>
    static abstract bool OffsetBinary { get; }

    /// <summary>A token's accumulator at the start of a block, given the block's −128·Σx.</summary>
    static abstract Vector256<int> Start(int byteOffset);

    /// <summary>What the products need of a chunk, computed once for all the tokens that use it.</summary>
    static abstract Vector256<byte> Operand(Vector256<byte> weights);

    /// <summary>Adds the chunk's products with activations <paramref name="x"/> to <paramref name="acc"/>.</summary>
    static abstract Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> weights, Vector256<byte> operand, Vector256<sbyte> x);
}

/// <summary>AVX-VNNI: weights +128 are vpdpbusd's unsigned operand, and the offset comes back out through the
/// accumulator's start, −128·Σx.</summary>
internal readonly struct OffsetBinaryProducts : IQ8_0Products
{
    public static bool OffsetBinary => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Start(int byteOffset) => Vector256.Create(byteOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Operand(Vector256<byte> weights) => weights;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> weights, Vector256<byte> operand, Vector256<sbyte> x) =>
        IntegerDot.Accumulate(acc, operand, x);
}

/// <summary>CPUs without AVX-VNNI: signed weights, whose sign moves onto the activation (Σ w·x = Σ |w|·(sign(w)·x)),
/// so vpmaddubsw gets |w| ≤ 128 as its unsigned operand and no product pair passes 2 · 128 · 127 = 32,512; vpmaddwd
/// widens the pairs. (Offset-binary weights, up to 255, would saturate vpmaddubsw's 16-bit pairs.)</summary>
internal readonly struct SignedProducts : IQ8_0Products
{
    public static bool OffsetBinary => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Start(int byteOffset) => Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Operand(Vector256<byte> weights) => Vector256.Abs(weights.AsSByte()).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> weights, Vector256<byte> operand, Vector256<sbyte> x)
    {
        var pairs = Avx2.MultiplyAddAdjacent(operand, Avx2.Sign(x, weights.AsSByte()));
        return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One));
    }
}
