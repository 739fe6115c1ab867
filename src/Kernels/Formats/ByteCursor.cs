using System.Buffers.Binary;
using System.Text;

namespace Serving.Kernels.Formats;

/// <summary>Little-endian reader over a header span. Every read checks the remaining length first and reports a
/// short read as <see cref="ModelFormatException"/> naming the file, the item and the byte offset.</summary>
internal ref struct ByteCursor
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _fileName;

    public ByteCursor(ReadOnlySpan<byte> data, string fileName)
    {
        _data = data;
        _fileName = fileName;
    }

    /// <summary>Offset of the next byte to read.</summary>
    public int Position { get; private set; }

    /// <summary>Bytes left.</summary>
    public readonly long Remaining => _data.Length - Position;

    public byte ReadByte(string what) => Take(1, what)[0];

    public ushort ReadUInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));

    public uint ReadUInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

    public int ReadInt32(string what) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, what));

    public ulong ReadUInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

    public float ReadSingle(string what) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, what));

    public double ReadDouble(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what));

    /// <summary>A uint64 length-prefixed UTF-8 string.</summary>
    public string ReadString(string what)
    {
        var start = Position;
        var length = ReadUInt64(what + " length");
        if (length > (ulong)Remaining)
        {
            throw Error($"{what}: string length {length} runs past the end ({Remaining} bytes left)", start);
        }

        var bytes = Take((int)length, what);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ModelFormatException($"{_fileName}: {what} at byte offset {start} is not valid UTF-8", e);
        }
    }

    /// <summary>Moves forward to the next multiple of <paramref name="alignment"/>.</summary>
    public void Align(int alignment, string what)
    {
        var padding = (alignment - (Position % alignment)) % alignment;
        Take(padding, what);
    }

    /// <summary>A <see cref="ModelFormatException"/> located at <paramref name="offset"/>.</summary>
    public readonly ModelFormatException Error(string message, long offset) =>
        new($"{_fileName}: {message} (at byte offset {offset})");

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count > Remaining)
        {
            throw Error($"unexpected end of file reading {what}: need {count} bytes, {Remaining} left", Position);
        }

        var span = _data.Slice(Position, count);
        Position += count;
        return span;
    }
}
