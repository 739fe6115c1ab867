using System.Runtime.InteropServices;
using Serving.Kernels.Numerics;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Onnx;

/// <summary>
/// Repacks GGUF Q4_0/Q8_0 blocks into MatMulNBits' inputs: B as uint8 <c>[N, blocks, blob]</c> and fp32 scales
/// <c>[N × blocks]</c>, zero points omitted. MatMulNBits dequantizes (code − zero point) × scale with default zero
/// point 2^(bits−1): 8 is exactly Q4_0's offset, and Q8_0's signed bytes become codes by adding 128. Codes are packed
/// low-first along K (element 2i in the low nibble of byte i, 2i+1 in the high nibble), per ONNX Runtime's contrib
/// operator spec; GGUF Q4_0 instead puts element j and j+16 in one byte, hence the shuffle.
/// </summary>
internal static unsafe class MatMulNBitsPacking
{
    public static void Pack(WeightTensor weight, OnnxMatrix matrix, byte* codes, float* scales)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(matrix);
        var source = (byte*)weight.Data;
        var sourceBlock = matrix.Lowering == MatrixLowering.NBits4 ? Q4_0.BlockBytes : Q8_0.BlockBytes;
        var blob = matrix.BlobBytes;

        // Rows are independent; the whole model is repacked once at load, so use every core.
        Parallel.For(0, matrix.Rows, row =>
        {
            for (var b = row * matrix.Blocks; b < (row + 1) * matrix.Blocks; b++)
            {
                var block = source + (b * sourceBlock);
                scales[b] = HalfTable.ToSingle(MemoryMarshal.Read<ushort>(new ReadOnlySpan<byte>(block, 2)));
                if (matrix.Lowering == MatrixLowering.NBits4)
                {
                    Q4Codes(block + 2, codes + (b * blob));
                }
                else
                {
                    Q8Codes(block + 2, codes + (b * blob));
                }
            }
        });
    }

    private static void Q4Codes(byte* quants, byte* destination)
    {
        for (var i = 0; i < 16; i++)
        {
            destination[i] = (byte)(Nibble(quants, 2 * i) | (Nibble(quants, (2 * i) + 1) << 4));
        }
    }

    // GGUF Q4_0 element e: low nibble of byte e for e < 16, high nibble of byte e − 16 otherwise.
    private static int Nibble(byte* quants, int e) => e < 16 ? quants[e] & 0x0F : quants[e - 16] >> 4;

    private static void Q8Codes(byte* quants, byte* destination)
    {
        for (var i = 0; i < 32; i++)
        {
            // Two's complement int8 + 128 as uint8 is a flip of the sign bit.
            destination[i] = (byte)(quants[i] ^ 0x80);
        }
    }
}
