using System.Runtime.Intrinsics;
using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The high-nibble extraction every 4-bit kernel uses (a GF(2) affine transform where the CPU has GFNI, else
/// a shift and a mask): every byte value at every position of each vector width gives its top four bits.</summary>
public sealed class NibbleChunksTests
{
    [Fact]
    public void High_gives_every_bytes_top_four_bits()
    {
        Span<byte> bytes = stackalloc byte[64];
        Span<byte> result = stackalloc byte[64];
        for (var start = 0; start < 256; start += 64)
        {
            for (var i = 0; i < 64; i++)
            {
                bytes[i] = (byte)(start + ((i * 37) % 64));
            }

            NibbleChunks.High(Vector128.Create((ReadOnlySpan<byte>)bytes)).CopyTo(result);
            AssertHighNibbles(bytes[..16], result[..16]);
            NibbleChunks.High(Vector256.Create((ReadOnlySpan<byte>)bytes)).CopyTo(result);
            AssertHighNibbles(bytes[..32], result[..32]);
            NibbleChunks.High(Vector512.Create((ReadOnlySpan<byte>)bytes)).CopyTo(result);
            AssertHighNibbles(bytes, result);
        }
    }

    private static void AssertHighNibbles(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> high)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            Assert.True(high[i] == bytes[i] >> 4, $"byte {bytes[i]:X2} at {i}: {high[i]:X2}");
        }
    }
}
