using System.Runtime.Intrinsics;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Finds whether an fp16 tensor holds any infinity or NaN (exponent bits all ones), which decides whether
/// its kernel may use the faster conversion. One pass over the tensor at load, vectorised.</summary>
internal static unsafe class HalfScan
{
    public static bool HasNonFinite(WeightTensor tensor)
    {
        var halves = (ushort*)tensor.Data;
        var count = tensor.ByteLength / sizeof(ushort);
        var exponent = Vector256.Create((ushort)0x7C00);
        var found = Vector256<ushort>.Zero;
        long i = 0;
        for (; i + 16 <= count; i += 16)
        {
            found |= Vector256.Equals(Vector256.Load(halves + i) & exponent, exponent);
        }

        for (; i < count; i++)
        {
            if ((halves[i] & 0x7C00) == 0x7C00)
            {
                return true;
            }
        }

        return found != Vector256<ushort>.Zero;
    }
}
