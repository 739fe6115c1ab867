namespace Serving.Kernels.Cpu;

/// <summary>
/// One allocation that holds a model's repacked weight matrices end to end, in the order they are created, which
/// is the order a step reads them. Allocated separately, each matrix was its own mapping whose last partial 2 MiB
/// (and all of a matrix under 2 MiB, such as TinyLlama's 288 KiB K and V projections) stayed on 4 KiB pages, about
/// 11 % of a TinyLlama Q4_0 model's bytes. On a virtual machine whose host also maps the guest's memory with small
/// pages, those bytes cost a two-level page walk every 4 KiB: in one process the same decode step ran 13–17 % faster
/// with the matrices copied into one arena, and in separate processes single-stream decode went from 91.9 to 95.8
/// tok/s at the median (see docs/benchmarks.md). Not thread-safe: matrices are allocated while the model is
/// prepared, on one thread.
/// </summary>
internal sealed unsafe class WeightArena : IDisposable
{
    /// <summary>Every matrix starts on a page boundary, as it did in its own allocation.</summary>
    private const long Alignment = 4096;

    private readonly NativeBuffer<byte> _buffer;
    private readonly byte* _start;
    private long _used;

    /// <summary>Reserves <paramref name="capacity"/> bytes, the sum of <see cref="SpaceFor"/> of every matrix to come.
    /// Pages are committed as the matrices are written.</summary>
    public WeightArena(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);

        // Large buffers start on a 2 MiB boundary; a small one (a tiny model's) only on 64 bytes.
        _buffer = new NativeBuffer<byte>(capacity + Alignment, clear: false);
        _start = (byte*)(((nint)_buffer.Pointer + (nint)Alignment - 1) & ~((nint)Alignment - 1));
        Capacity = capacity;
    }

    public long Capacity { get; }

    public long Used => _used;

    /// <summary>The arena space a matrix of <paramref name="bytes"/> takes.</summary>
    public static long SpaceFor(long bytes) => (bytes + Alignment - 1) & ~(Alignment - 1);

    /// <summary>The next <paramref name="bytes"/> of the arena, page-aligned and uninitialised.</summary>
    public byte* Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var space = SpaceFor(bytes);
        if (space > Capacity - _used)
        {
            throw new InvalidOperationException($"the weight arena of {Capacity} bytes has {Capacity - _used} left, not the {bytes} asked for");
        }

        var start = _start + _used;
        _used += space;
        return start;
    }

    public void Dispose() => _buffer.Dispose();
}
