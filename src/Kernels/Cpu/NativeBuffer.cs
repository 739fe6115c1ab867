using System.Runtime.InteropServices;

namespace Serving.Kernels.Cpu;

/// <summary>A 64-byte aligned native allocation: kernel scratch space and KV blocks live outside the managed heap so
/// the GC never scans or moves them and pointers into them stay valid.</summary>
internal sealed unsafe class NativeBuffer<T> : IDisposable
    where T : unmanaged
{
    private void* _pointer;

    public NativeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        var bytes = (nuint)Math.Max(1, length * sizeof(T));
        _pointer = NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_pointer, bytes);
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
