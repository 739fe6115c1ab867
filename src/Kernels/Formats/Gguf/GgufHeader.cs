using System.Buffers.Binary;
using System.Numerics;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.Gguf;

/// <summary>The parsed and validated header of a GGUF file: metadata, tensor infos and the data section.</summary>
internal sealed record GgufHeader(uint Version, int Alignment, long DataOffset, GgufMetadata Metadata, IReadOnlyList<WeightTensor> Tensors)
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    private const int MaxDims = 4;

    // Smallest possible encodings (empty name): used to refuse counts that the file cannot possibly hold.
    private const int MinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
    private const int MinKeyValueBytes = 8 + 4 + 1;

    public static unsafe GgufHeader Parse(MappedFile file)
    {
        var cursor = new ByteCursor(file.Prefix(file.Length), file.Name);
        var magic = cursor.ReadUInt32("magic");
        if (magic != Magic)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, magic);
            throw cursor.Error($"bad magic {Convert.ToHexString(bytes)}, expected 47475546 (\"GGUF\"): not a GGUF file", 0);
        }

        var version = cursor.ReadUInt32("version");
        if (version is not (2 or 3))
        {
            throw cursor.Error($"unsupported GGUF version {version} (supported: 2, 3)", 4);
        }

        var tensorCount = cursor.ReadUInt64("tensor count");
        var kvCount = cursor.ReadUInt64("metadata count");
        if (tensorCount > (ulong)(cursor.Remaining / MinTensorInfoBytes))
        {
            throw cursor.Error($"tensor count {tensorCount} is absurd for a file of {file.Length} bytes", 8);
        }

        if (kvCount > (ulong)(cursor.Remaining / MinKeyValueBytes))
        {
            throw cursor.Error($"metadata count {kvCount} is absurd for a file of {file.Length} bytes", 16);
        }

        var metadata = new GgufMetadata(GgufMetadataParser.ReadAll(ref cursor, kvCount), file.Name);
        var alignment = ReadAlignment(metadata, file.Name);
        var infos = new List<(string Name, GgmlType Type, long[] Shape, ulong Offset, int At)>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            var at = cursor.Position;
            var info = ReadTensorInfo(ref cursor, i);
            if (!names.Add(info.Name))
            {
                throw cursor.Error($"tensor '{info.Name}' appears twice", at);
            }

            infos.Add((info.Name, info.Type, info.Shape, info.Offset, at));
        }

        var dataOffset = (long)cursor.Position;
        dataOffset += (alignment - (dataOffset % alignment)) % alignment;
        var available = file.Length - dataOffset;
        var tensors = new List<WeightTensor>(infos.Count);
        foreach (var (name, type, shape, offset, at) in infos)
        {
            var elements = ElementCount(shape, name, at, ref cursor);
            var bytes = GgmlTypeInfo.ByteCount(type, elements);
            if (bytes < 0)
            {
                throw cursor.Error(
                    $"tensor '{name}': {elements} elements is not a whole number of {type} blocks of {GgmlTypeInfo.BlockSize(type)}", at);
            }

            if (offset % (ulong)alignment != 0)
            {
                throw cursor.Error($"tensor '{name}': data offset {offset} is not a multiple of the alignment {alignment}", at);
            }

            if (available < 0 || offset > (ulong)available || (ulong)bytes > (ulong)available - offset)
            {
                throw cursor.Error(
                    $"tensor '{name}': data [{offset}, +{bytes}) relative to the data section at {dataOffset} lies outside the file of {file.Length} bytes",
                    at);
            }

            tensors.Add(new WeightTensor(name, type, shape, (nint)(file.Pointer + dataOffset + (long)offset), bytes));
        }

        return new GgufHeader(version, alignment, dataOffset, metadata, tensors);
    }

    private static int ReadAlignment(GgufMetadata metadata, string fileName)
    {
        if (!metadata.TryGetUInt32("general.alignment", out var alignment))
        {
            return GgufFile.DefaultAlignment;
        }

        return alignment is > 0 and <= 1 << 20 && BitOperations.IsPow2(alignment)
            ? (int)alignment
            : throw new ModelFormatException($"{fileName}: general.alignment {alignment} is not a power of two up to 1 MiB");
    }

    private static (string Name, GgmlType Type, long[] Shape, ulong Offset) ReadTensorInfo(ref ByteCursor cursor, ulong index)
    {
        var at = cursor.Position;
        var name = cursor.ReadString($"name of tensor #{index}");
        var dimCount = cursor.ReadUInt32($"dimension count of tensor '{name}'");
        if (dimCount is 0 or > MaxDims)
        {
            throw cursor.Error($"tensor '{name}' has {dimCount} dimensions (1 to {MaxDims} allowed)", at);
        }

        // GGUF lists dimensions innermost first; WeightTensor.Shape is outermost first.
        var shape = new long[dimCount];
        for (var d = 0; d < dimCount; d++)
        {
            var dim = cursor.ReadUInt64($"dimension {d} of tensor '{name}'");
            if (dim > long.MaxValue)
            {
                throw cursor.Error($"tensor '{name}': dimension {d} is {dim}, which is absurd", at);
            }

            shape[dimCount - 1 - d] = (long)dim;
        }

        var rawType = cursor.ReadUInt32($"type of tensor '{name}'");
        if (!GgmlTypeInfo.IsKnown((GgmlType)rawType))
        {
            throw cursor.Error($"tensor '{name}' has unknown ggml type {rawType}", at);
        }

        var offset = cursor.ReadUInt64($"data offset of tensor '{name}'");
        return (name, (GgmlType)rawType, shape, offset);
    }

    private static long ElementCount(long[] shape, string name, int at, ref ByteCursor cursor)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim != 0 && count > long.MaxValue / dim)
            {
                throw cursor.Error($"tensor '{name}': shape [{string.Join(", ", shape)}] has more elements than fit in 64 bits", at);
            }

            count *= dim;
        }

        return count;
    }
}
