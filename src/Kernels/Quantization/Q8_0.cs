using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Serving.Kernels.Quantization;

/// <summary>GGUF Q8_0: blocks of 32 weights stored as an fp16 scale d followed by 32 signed bytes q; w = d·q.</summary>
[SuppressMessage("Naming", "CA1707", Justification = "Named after the GGUF type.")]
public static class Q8_0
{
    /// <summary>Weights per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Bytes per block.</summary>
    public const int BlockBytes = 34;

    /// <summary>Quantizes <paramref name="source"/> (a multiple of 32 values) into <paramref name="destination"/>,
    /// rounding to nearest as llama.cpp's reference quantizer does.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination)
    {
        var blocks = source.Length / BlockSize;
        for (var b = 0; b < blocks; b++)
        {
            var x = source.Slice(b * BlockSize, BlockSize);
            var block = destination.Slice(b * BlockBytes, BlockBytes);
            var amax = 0f;
            foreach (var v in x)
            {
                amax = MathF.Max(amax, MathF.Abs(v));
            }

            var d = amax / 127f;
            var id = d != 0 ? 1f / d : 0f;
            var dh = (Half)d;
            MemoryMarshal.Write(block, BitConverter.HalfToUInt16Bits(dh));
            for (var i = 0; i < BlockSize; i++)
            {
                block[2 + i] = (byte)(sbyte)MathF.Round(x[i] * id);
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
            for (var i = 0; i < BlockSize; i++)
            {
                destination[(b * BlockSize) + i] = d * (sbyte)block[2 + i];
            }
        }
    }
}
