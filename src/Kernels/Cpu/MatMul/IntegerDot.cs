using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Unsigned×signed byte dot products accumulated into eight int32 lanes: one AVX-VNNI vpdpbusd where the
/// CPU has it, else the AVX2 pmaddubsw + pmaddwd pair (no saturation for the value ranges used here: unsigned
/// operands are at most 127).</summary>
internal static class IntegerDot
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> unsignedBytes, Vector256<sbyte> signedBytes)
    {
        if (AvxVnni.IsSupported)
        {
            return AvxVnni.MultiplyWideningAndAdd(acc, unsignedBytes, signedBytes);
        }

        var pairs = Avx2.MultiplyAddAdjacent(unsignedBytes, signedBytes);
        return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One));
    }
}
