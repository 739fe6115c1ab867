using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu;

/// <summary>Software prefetch for the places where the hardware prefetchers lose the stream: they stop at 4 KiB
/// page ends and at jumps between blocks that are not adjacent in memory.</summary>
internal static unsafe class CachePrefetch
{
    /// <summary>Asks for every 64-byte cache line of <paramref name="bytes"/> bytes from <paramref name="start"/>;
    /// harmless past the end of an allocation (a prefetch never faults). Does nothing on CPUs without SSE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines(byte* start, int bytes)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        for (var offset = 0; offset < bytes; offset += 64)
        {
            Sse.Prefetch0(start + offset);
        }
    }
}
