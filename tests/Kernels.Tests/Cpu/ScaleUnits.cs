using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The fp16 units of stored quantized blocks, which decide the fp16 conversion an interleaved kernel uses
/// (<see cref="Serving.Kernels.Cpu.MatMul.BlockScaleForm"/>): Q4_0/Q8_0 block scales, k-quant super-blocks' d (unit 0)
/// and Q4_K/Q5_K's dmin (unit 1).</summary>
internal static unsafe class ScaleUnits
{
    /// <summary>The fp16 bits that make a kernel pick each conversion: zero (Normal, rewritten at repack), a subnormal
    /// (Finite) or an infinity (Any).</summary>
    public static ushort ForForm(string form) => form switch
    {
        "Finite" => 0x0003,
        "Any" => BitConverter.HalfToUInt16Bits(Half.PositiveInfinity),
        _ => 0,
    };

    /// <summary>Sets unit <paramref name="unit"/> of block <paramref name="block"/> (a super-block for k-quants) of
    /// row <paramref name="row"/>.</summary>
    public static void Set(byte* weights, GgmlType type, long columns, int row, int block, int unit, ushort bits) =>
        *(ushort*)Address(weights, type, columns, row, block, unit) = bits;

    /// <summary>Makes every subnormal unit the smallest normal fp16, so that only the units a test sets decide the
    /// form.</summary>
    public static void Normalize(byte* weights, GgmlType type, long rows, long columns)
    {
        var units = type is GgmlType.Q4_K or GgmlType.Q5_K ? 2 : 1;
        for (var r = 0; r < rows; r++)
        {
            for (var b = 0; b < columns / GgmlTypeInfo.BlockSize(type); b++)
            {
                for (var u = 0; u < units; u++)
                {
                    var at = (ushort*)Address(weights, type, columns, r, b, u);
                    if ((*at & 0x7C00) == 0 && (*at & 0x03FF) != 0)
                    {
                        *at = (ushort)((*at & 0x8000) | 0x0400);
                    }
                }
            }
        }
    }

    private static byte* Address(byte* weights, GgmlType type, long columns, int row, int block, int unit)
    {
        var rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        var blockBytes = rowBytes / (columns / GgmlTypeInfo.BlockSize(type));
        var offset = type == GgmlType.Q6_K ? Q6_K.ScaleOffset : 2 * unit;
        return weights + (row * rowBytes) + (block * blockBytes) + offset;
    }
}
