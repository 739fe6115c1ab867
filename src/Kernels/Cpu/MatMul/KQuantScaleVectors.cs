using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Unpacks the 6-bit scales and minimums of a Q4_K or Q5_K super-block (see
/// <see cref="Quantization.KQuantScales"/>) straight into fp32 vectors, one lane per sub-block, with 32-bit integer
/// operations on the three words of the field.</summary>
internal static unsafe class KQuantScaleVectors
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unpack(byte* packed, out Vector256<float> scales, out Vector256<float> minimums)
    {
        var a = *(uint*)packed;
        var b = *(uint*)(packed + 4);
        var c = *(uint*)(packed + 8);
        var scalesLow = a & 0x3F3F3F3Fu;
        var minimumsLow = b & 0x3F3F3F3Fu;
        var scalesHigh = (c & 0x0F0F0F0Fu) | (((a >> 6) & 0x03030303u) << 4);
        var minimumsHigh = ((c >> 4) & 0x0F0F0F0Fu) | (((b >> 6) & 0x03030303u) << 4);
        scales = Widen(scalesLow | ((ulong)scalesHigh << 32));
        minimums = Widen(minimumsLow | ((ulong)minimumsHigh << 32));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen(ulong bytes) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(bytes).AsByte()));
}
