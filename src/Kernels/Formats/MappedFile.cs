using System.IO.MemoryMappedFiles;

namespace Serving.Kernels.Formats;

/// <summary>A whole file mapped read-only into the address space. Tensors are views into it, so it must outlive
/// them; nothing is copied onto the managed heap.</summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private const int PopulateRead = 22;

    private byte* _acquired;

    private MappedFile(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, long length)
    {
        Path = path;
        _file = file;
        _view = view;
        Length = length;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref _acquired);
        // The view may start before the requested offset (page alignment); PointerOffset corrects for that.
        Pointer = _acquired + view.PointerOffset;
        if (OperatingSystem.IsLinux() && length > 0)
        {
            // Model weights are read end to end at load (repacking) or on every token: map all page-table entries in
            // one call (MADV_POPULATE_READ) instead of taking a fault per few pages. Older kernels refuse it harmlessly.
            _ = Serving.Kernels.Cpu.LinuxMemory.Madvise(_acquired, (nuint)(length + view.PointerOffset), PopulateRead);
        }
    }

    /// <summary>Path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>File name, for error messages.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>Address of the first byte.</summary>
    public byte* Pointer { get; }

    /// <summary>Length of the file in bytes.</summary>
    public long Length { get; }

    /// <summary>Maps <paramref name="path"/>; an empty file cannot be mapped and is reported as malformed.</summary>
    public static MappedFile Open(string path)
    {
        // FileInfo describes a symbolic link itself, not its target; Hugging Face cache snapshots are links to blobs.
        var info = new FileInfo(path);
        var length = info.LinkTarget is null ? info.Length : ((FileInfo?)info.ResolveLinkTarget(returnFinalTarget: true))?.Length ?? info.Length;
        if (length == 0)
        {
            throw new ModelFormatException($"{System.IO.Path.GetFileName(path)}: the file is empty");
        }

        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            return new MappedFile(path, file, view, length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The first <paramref name="count"/> bytes (capped at the file length and at what a span can hold).
    /// Headers are parsed from this span, so every read is bounds-checked.</summary>
    public ReadOnlySpan<byte> Prefix(long count) => new(Pointer, (int)Math.Min(Math.Min(count, Length), int.MaxValue));

    /// <summary>Bytes [<paramref name="offset"/>, +<paramref name="count"/>), which the caller has range-checked.</summary>
    public ReadOnlySpan<byte> Slice(long offset, int count) => new(Pointer + offset, count);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_acquired != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _acquired = null;
        }

        _view.Dispose();
        _file.Dispose();
    }
}
