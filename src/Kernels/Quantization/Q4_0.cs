using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Serving.Kernels.Quantization;

/// <summary>GGUF Q4_0: blocks of 32 weights stored as an fp16 scale d followed by 16 bytes; byte j holds weight j in
/// its low nibble and weight j+16 in its high nibble; w = d·(nibble − 8).</summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
public static class Q4_0
{
    /// <summary>Weights per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Bytes per block.</summary>
    public const int BlockBytes = 18;

    /// <summary>Quantizes <paramref name="source"/> (a multiple of 32 values) the way llama.cpp's reference quantizer
    /// does: the value of largest magnitude maps to −8, so d = max / −8.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination)
    {
        var blocks = source.Length / BlockSize;
        for (var b = 0; b < blocks; b++)
        {
            var x = source.Slice(b * BlockSize, BlockSize);
            var block = destination.Slice(b * BlockBytes, BlockBytes);
            var amax = 0f;
            var max = 0f;
            foreach (var v in x)
            {
                if (MathF.Abs(v) > amax)
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }

            var d = max / -8f;
            var id = d != 0 ? 1f / d : 0f;
            MemoryMarshal.Write(block, BitConverter.HalfToUInt16Bits((Half)d));
            for (var j = 0; j < BlockSize / 2; j++)
            {
                var lo = (byte)Math.Min(15, (int)((x[j] * id) + 8.5f));
                var hi = (byte)Math.Min(15, (int)((x[j + 16] * id) + 8.5f));
                block[2 + j] = (byte)(lo | (hi << 4));
            }
        }
    }

    /// <summary>Expands quantized blocks back to floats.</summary>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var blocks = destination.Length / BlockSize;
        for (var b = 0; b < blocks; b++)
        {
            var block = source.Slice(b * BlockBytes, BlockBytes);
            var d = (float)BitConverter.UInt16BitsToHalf(MemoryMarshal.Read<ushort>(block));
            for (var j = 0; j < BlockSize / 2; j++)
            {
                var q = block[2 + j];
                destination[(b * BlockSize) + j] = d * ((q & 0x0F) - 8);
                destination[(b * BlockSize) + j + 16] = d * ((q >> 4) - 8);
            }
        }
    }
}
