using System.Runtime.InteropServices;

namespace Serving.Kernels.Cpu;

/// <summary>A 64-byte aligned native allocation: kernel scratch space and KV blocks live outside the managed heap so
/// the GC never scans or moves them and pointers into them stay valid.</summary>
internal sealed unsafe class NativeBuffer<T> : IDisposable
    where T : unmanaged
{
    private const nuint HugePage = 2 * 1024 * 1024;
    private const int MadviseHugePage = 14;

    private void* _pointer;

    public NativeBuffer(long length, bool clear = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        var bytes = (nuint)Math.Max(1, length * sizeof(T));
        var large = bytes >= HugePage;

        // A large buffer takes whole 2 MiB pages: the advice below covers only the range it is given, so the last
        // partial 2 MiB of a buffer stayed on 4 KiB pages (up to 2 MiB of each weight matrix or KV cache).
        var reserved = large ? (bytes + HugePage - 1) & ~(HugePage - 1) : bytes;
        _pointer = NativeMemory.AlignedAlloc(reserved, large ? HugePage : 64);
        if (large && OperatingSystem.IsLinux())
        {
            // Weights and KV blocks are streamed end to end: 2 MiB pages cut TLB misses and first-touch faults
            // 512-fold. Transparent huge pages are often in "madvise" mode, so ask for them; failure is harmless.
            _ = LinuxMemory.Madvise(_pointer, reserved, MadviseHugePage);
        }

        if (clear)
        {
            NativeMemory.Clear(_pointer, bytes);
        }
    }

    public long Length { get; }

    public T* Pointer => (T*)_pointer;

    public Span<T> AsSpan(long start, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + length, Length);
        return new Span<T>(Pointer + start, length);
    }

    public void Dispose()
    {
        if (_pointer != null)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }
}
