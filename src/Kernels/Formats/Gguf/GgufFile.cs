using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.Gguf;

/// <summary>A GGUF file (version 2 or 3, little-endian), memory-mapped: its metadata is parsed and validated, its
/// tensors are <see cref="WeightTensor"/> views into the mapping that stay valid until the file is disposed.</summary>
public sealed class GgufFile : IDisposable
{
    /// <summary>Alignment of tensor data when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;

    private readonly MappedFile _mapping;

    private GgufFile(MappedFile mapping, GgufHeader header)
    {
        _mapping = mapping;
        Version = header.Version;
        Alignment = header.Alignment;
        DataOffset = header.DataOffset;
        Metadata = header.Metadata;
        TensorsInFileOrder = header.Tensors;
        Tensors = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Path the file was opened from.</summary>
    public string Path => _mapping.Path;

    /// <summary>Format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>Alignment of tensor data in bytes.</summary>
    public int Alignment { get; }

    /// <summary>Byte offset of the tensor data section.</summary>
    public long DataOffset { get; }

    /// <summary>Key/value metadata.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>Tensors by name.</summary>
    public IReadOnlyDictionary<string, WeightTensor> Tensors { get; }

    /// <summary>Tensors in the order the file lists them.</summary>
    public IReadOnlyList<WeightTensor> TensorsInFileOrder { get; }

    /// <summary>Maps and validates <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">The file is not a well-formed GGUF file.</exception>
    public static GgufFile Open(string path)
    {
        var mapping = MappedFile.Open(path);
        try
        {
            return new GgufFile(mapping, GgufHeader.Parse(mapping));
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>The tensor called <paramref name="name"/>.</summary>
    /// <exception cref="ModelFormatException">The file has no such tensor.</exception>
    public WeightTensor GetTensor(string name) =>
        Tensors.TryGetValue(name, out var tensor)
            ? tensor
            : throw new ModelFormatException($"{_mapping.Name}: tensor '{name}' is missing");

    /// <inheritdoc />
    public void Dispose() => _mapping.Dispose();
}
