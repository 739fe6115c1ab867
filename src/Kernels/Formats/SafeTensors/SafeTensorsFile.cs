using System.Buffers.Binary;
using System.Text.Json;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.SafeTensors;

/// <summary>A memory-mapped <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and [begin, end) byte range relative to the end of the header, then the data.
/// The header is validated in full; tensors are views into the mapping.</summary>
internal sealed unsafe class SafeTensorsFile : IDisposable
{
    // The reference implementation caps headers at 100 MB; anything larger is corruption, not a model.
    private const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, int> DtypeSizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    private readonly MappedFile _mapping;
    private readonly Dictionary<string, Entry> _entries;
    private readonly long _dataStart;

    private SafeTensorsFile(MappedFile mapping, Dictionary<string, Entry> entries, long dataStart)
    {
        _mapping = mapping;
        _entries = entries;
        _dataStart = dataStart;
    }

    public string Name => _mapping.Name;

    public IReadOnlyCollection<string> TensorNames => _entries.Keys;

    public static SafeTensorsFile Open(string path)
    {
        var mapping = MappedFile.Open(path);
        try
        {
            var (entries, dataStart) = ParseHeader(mapping);
            return new SafeTensorsFile(mapping, entries, dataStart);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The tensor as a view, or null when absent. Only F32, F16 and BF16 can be viewed.</summary>
    public WeightTensor? TryGetTensor(string name)
    {
        if (!_entries.TryGetValue(name, out var e))
        {
            return null;
        }

        var type = e.Dtype switch
        {
            "F32" => GgmlType.F32,
            "F16" => GgmlType.F16,
            "BF16" => GgmlType.BF16,
            _ => throw new ModelFormatException($"{Name}: tensor '{name}' has dtype {e.Dtype}; supported dtypes are F32, F16 and BF16"),
        };
        return new WeightTensor(name, type, e.Shape, (nint)(_mapping.Pointer + _dataStart + e.Begin), e.End - e.Begin);
    }

    public void Dispose() => _mapping.Dispose();

    private static (Dictionary<string, Entry>, long) ParseHeader(MappedFile file)
    {
        if (file.Length < 8)
        {
            throw new ModelFormatException($"{file.Name}: {file.Length} bytes is too short for a safetensors header length");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Prefix(8));
        if (headerLength > MaxHeaderBytes || headerLength > (ulong)(file.Length - 8))
        {
            throw new ModelFormatException(
                $"{file.Name}: header length {headerLength} at byte offset 0 exceeds the file ({file.Length} bytes) or the 100 MB limit");
        }

        var dataStart = 8 + (long)headerLength;
        var dataLength = file.Length - dataStart;
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        try
        {
            using var json = JsonDocument.Parse(file.Slice(8, (int)headerLength).ToArray());
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException($"{file.Name}: the safetensors header is not a JSON object");
            }

            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.Name != "__metadata__")
                {
                    entries.Add(property.Name, ParseEntry(property.Name, property.Value, dataLength, file.Name));
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException)
        {
            throw new ModelFormatException($"{file.Name}: malformed safetensors header: {e.Message}", e);
        }

        CheckNoOverlap(entries, file.Name);
        return (entries, dataStart);
    }

    private static Entry ParseEntry(string name, JsonElement value, long dataLength, string fileName)
    {
        var dtype = value.GetProperty("dtype").GetString() ?? "";
        if (!DtypeSizes.TryGetValue(dtype, out var size))
        {
            throw new ModelFormatException($"{fileName}: tensor '{name}' has unknown dtype '{dtype}'");
        }

        var shape = value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var offsets = value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (offsets is not [var begin, var end] || begin < 0 || end < begin || end > dataLength)
        {
            throw new ModelFormatException(
                $"{fileName}: tensor '{name}' data_offsets [{string.Join(", ", offsets)}] lie outside the {dataLength} data bytes");
        }

        Int128 bytes = size;
        foreach (var dim in shape)
        {
            bytes *= dim >= 0 ? dim : throw new ModelFormatException($"{fileName}: tensor '{name}' has a negative dimension");
            if (bytes > long.MaxValue)
            {
                throw new ModelFormatException($"{fileName}: tensor '{name}' shape [{string.Join(", ", shape)}] is absurd");
            }
        }

        if (bytes != end - begin)
        {
            throw new ModelFormatException(
                $"{fileName}: tensor '{name}' is {dtype} [{string.Join(", ", shape)}] = {bytes} bytes, but its data_offsets span {end - begin}");
        }

        return new Entry(dtype, shape, begin, end);
    }

    private static void CheckNoOverlap(Dictionary<string, Entry> entries, string fileName)
    {
        var sorted = entries.Where(e => e.Value.End > e.Value.Begin).OrderBy(e => e.Value.Begin).ToList();
        for (var i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].Value.Begin < sorted[i - 1].Value.End)
            {
                throw new ModelFormatException($"{fileName}: tensors '{sorted[i - 1].Key}' and '{sorted[i].Key}' overlap");
            }
        }
    }

    private sealed record Entry(string Dtype, long[] Shape, long Begin, long End);
}
