using System.Buffers.Binary;
using System.Text;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.Gguf;

/// <summary>Writes GGUF version 3 files. Metadata and tensor descriptions are collected first; tensor bytes are
/// either given up front or produced by a callback at write time, so a large model never has to be held in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, object>> _metadata = [];
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    /// <summary>Creates a writer whose tensor data is aligned to <paramref name="alignment"/> bytes (a power of two;
    /// anything other than 32 is recorded as <c>general.alignment</c>).</summary>
    public GgufWriter(int alignment = GgufFile.DefaultAlignment)
    {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "alignment must be a power of two");
        }

        Alignment = alignment;
        if (alignment != GgufFile.DefaultAlignment)
        {
            Add("general.alignment", (uint)alignment);
        }
    }

    /// <summary>Alignment of tensor data in bytes.</summary>
    public int Alignment { get; }

    /// <summary>Adds a metadata entry. <paramref name="value"/> is a byte, sbyte, ushort, short, uint, int, float,
    /// bool, string, ulong, long or double, or an array of one of those, or an <c>Array[]</c> of such arrays; the
    /// GGUF value type follows from the .NET type.</summary>
    public void Add(string key, object value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        CheckWritable(value, key);
        if (!_keys.Add(key))
        {
            throw new ArgumentException($"metadata key '{key}' was already added", nameof(key));
        }

        _metadata.Add(new(key, value));
    }

    /// <summary>Adds a tensor whose bytes are given. <paramref name="shape"/> is outer-first.</summary>
    public void AddTensor(string name, GgmlType type, long[] shape, ReadOnlyMemory<byte> data) =>
        AddTensor(name, type, shape, stream => stream.Write(data.Span));

    /// <summary>Adds a tensor whose bytes <paramref name="writeData"/> writes to the output stream when the file is
    /// written; it must write exactly the byte count that <paramref name="type"/> and <paramref name="shape"/>
    /// (outer-first) imply.</summary>
    public void AddTensor(string name, GgmlType type, long[] shape, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(writeData);
        long elements = 1;
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            elements = checked(elements * d);
        }

        var bytes = GgmlTypeInfo.ByteCount(type, elements);
        if (bytes < 0)
        {
            throw new ArgumentException($"tensor '{name}': {elements} elements is not a whole number of {type} blocks", nameof(shape));
        }

        if (!_tensorNames.Add(name))
        {
            throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        }

        _tensors.Add(new PendingTensor(name, type, (long[])shape.Clone(), bytes, writeData));
    }

    /// <summary>Writes the file to <paramref name="path"/>, replacing it.</summary>
    public void Write(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Write(stream);
    }

    /// <summary>Writes the file to <paramref name="output"/>, which need not be seekable.</summary>
    public void Write(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var stream = new CountingStream(output);
        WriteUInt32(stream, GgufHeader.Magic);
        WriteUInt32(stream, 3);
        WriteUInt64(stream, (ulong)_tensors.Count);
        WriteUInt64(stream, (ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(stream, key);
            WriteUInt32(stream, (uint)GgufValueCodec.ScalarType(value)!.Value);
            WriteValue(stream, value);
        }

        long offset = 0;
        foreach (var tensor in _tensors)
        {
            WriteString(stream, tensor.Name);
            WriteUInt32(stream, (uint)tensor.Shape.Length);
            for (var d = tensor.Shape.Length - 1; d >= 0; d--)
            {
                WriteUInt64(stream, (ulong)tensor.Shape[d]);
            }

            WriteUInt32(stream, (uint)tensor.Type);
            WriteUInt64(stream, (ulong)offset);
            offset += Padded(tensor.ByteLength);
        }

        Pad(stream);
        foreach (var tensor in _tensors)
        {
            var start = stream.Written;
            tensor.WriteData(stream);
            if (stream.Written - start != tensor.ByteLength)
            {
                throw new InvalidOperationException(
                    $"tensor '{tensor.Name}': the data callback wrote {stream.Written - start} bytes, expected {tensor.ByteLength}");
            }

            Pad(stream);
        }

        stream.Flush();
    }

    private long Padded(long length) => (length + Alignment - 1) / Alignment * Alignment;

    private void Pad(CountingStream stream)
    {
        Span<byte> zeros = stackalloc byte[Alignment <= 256 ? Alignment : 256];
        for (var padding = Padded(stream.Written) - stream.Written; padding > 0; padding -= zeros.Length)
        {
            stream.Write(zeros[..(int)Math.Min(padding, zeros.Length)]);
        }
    }

    private static void CheckWritable(object value, string key)
    {
        if (GgufValueCodec.ScalarType(value) is null || (value is Array a && GgufValueCodec.ElementType(a) is null))
        {
            throw new ArgumentException($"metadata '{key}': GGUF cannot hold a {value.GetType().Name}", nameof(value));
        }

        if (value is Array[] nested)
        {
            foreach (var inner in nested)
            {
                CheckWritable(inner, key);
            }
        }
    }

    private static void WriteValue(Stream stream, object value)
    {
        switch (value)
        {
            case byte v: stream.WriteByte(v); break;
            case sbyte v: stream.WriteByte((byte)v); break;
            case ushort v: WriteUInt16(stream, v); break;
            case short v: WriteUInt16(stream, (ushort)v); break;
            case uint v: WriteUInt32(stream, v); break;
            case int v: WriteUInt32(stream, (uint)v); break;
            case float v: WriteUInt32(stream, BitConverter.SingleToUInt32Bits(v)); break;
            case bool v: stream.WriteByte(v ? (byte)1 : (byte)0); break;
            case string v: WriteString(stream, v); break;
            case ulong v: WriteUInt64(stream, v); break;
            case long v: WriteUInt64(stream, (ulong)v); break;
            case double v: WriteUInt64(stream, BitConverter.DoubleToUInt64Bits(v)); break;
            case Array v:
                WriteUInt32(stream, (uint)GgufValueCodec.ElementType(v)!.Value);
                WriteUInt64(stream, (ulong)v.Length);
                foreach (var element in v)
                {
                    WriteValue(stream, element);
                }

                break;
            default: throw new ArgumentException($"GGUF cannot hold a {value.GetType().Name}", nameof(value));
        }
    }

    private static void WriteString(Stream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteUInt64(stream, (ulong)bytes.Length);
        stream.Write(bytes);
    }

    private static void WriteUInt16(Stream stream, ushort value)
    {
        Span<byte> buffer = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(buffer, value);
        stream.Write(buffer);
    }

    private static void WriteUInt32(Stream stream, uint value)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, value);
        stream.Write(buffer);
    }

    private static void WriteUInt64(Stream stream, ulong value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        stream.Write(buffer);
    }

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Shape, long ByteLength, Action<Stream> WriteData);
}
