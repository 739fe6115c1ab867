namespace Serving.Kernels.Formats.Gguf;

/// <summary>Reads the key/value section of a GGUF header into .NET values (see <see cref="GgufValueCodec"/>).</summary>
internal static class GgufMetadataParser
{
    // Real files nest arrays at most once; the cap stops a crafted file from recursing the stack away.
    private const int MaxArrayDepth = 8;

    public static Dictionary<string, object> ReadAll(ref ByteCursor cursor, ulong count)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        for (ulong i = 0; i < count; i++)
        {
            var start = cursor.Position;
            var key = cursor.ReadString($"metadata key #{i}");
            var type = cursor.ReadUInt32($"type of metadata '{key}'");
            var value = ReadValue(ref cursor, type, key, 0);
            if (!values.TryAdd(key, value))
            {
                throw cursor.Error($"metadata key '{key}' appears twice", start);
            }
        }

        return values;
    }

    private static object ReadValue(ref ByteCursor cursor, uint type, string key, int depth)
    {
        var what = $"value of metadata '{key}'";
        return (GgufValueType)type switch
        {
            GgufValueType.UInt8 => cursor.ReadByte(what),
            GgufValueType.Int8 => (sbyte)cursor.ReadByte(what),
            GgufValueType.UInt16 => cursor.ReadUInt16(what),
            GgufValueType.Int16 => (short)cursor.ReadUInt16(what),
            GgufValueType.UInt32 => cursor.ReadUInt32(what),
            GgufValueType.Int32 => cursor.ReadInt32(what),
            GgufValueType.Float32 => cursor.ReadSingle(what),
            GgufValueType.Bool => ReadBool(ref cursor, what),
            GgufValueType.String => cursor.ReadString(what),
            GgufValueType.UInt64 => cursor.ReadUInt64(what),
            GgufValueType.Int64 => (long)cursor.ReadUInt64(what),
            GgufValueType.Float64 => cursor.ReadDouble(what),
            GgufValueType.Array => ReadArray(ref cursor, key, depth),
            _ => throw cursor.Error($"metadata '{key}' has unknown value type {type}", cursor.Position - 4),
        };
    }

    private static bool ReadBool(ref ByteCursor cursor, string what)
    {
        var offset = cursor.Position;
        var b = cursor.ReadByte(what);
        return b <= 1 ? b == 1 : throw cursor.Error($"{what}: bool byte is {b}, expected 0 or 1", offset);
    }

    private static Array ReadArray(ref ByteCursor cursor, string key, int depth)
    {
        var start = cursor.Position;
        var rawType = cursor.ReadUInt32($"element type of array '{key}'");
        var count = cursor.ReadUInt64($"length of array '{key}'");
        if (!Enum.IsDefined((GgufValueType)rawType))
        {
            throw cursor.Error($"array '{key}' has unknown element type {rawType}", start);
        }

        var type = (GgufValueType)rawType;
        if (type == GgufValueType.Array && depth >= MaxArrayDepth)
        {
            throw cursor.Error($"array '{key}' nests arrays deeper than {MaxArrayDepth}", start);
        }

        if (count > (ulong)(cursor.Remaining / GgufValueCodec.MinimumSize(type)))
        {
            throw cursor.Error(
                $"array '{key}' claims {count} {GgufValueCodec.Name(type)} elements, more than the {cursor.Remaining} bytes left can hold",
                start);
        }

        var n = (int)count;
        return type switch
        {
            GgufValueType.UInt8 => Fill<byte>(ref cursor, n, key, depth, type),
            GgufValueType.Int8 => Fill<sbyte>(ref cursor, n, key, depth, type),
            GgufValueType.UInt16 => Fill<ushort>(ref cursor, n, key, depth, type),
            GgufValueType.Int16 => Fill<short>(ref cursor, n, key, depth, type),
            GgufValueType.UInt32 => Fill<uint>(ref cursor, n, key, depth, type),
            GgufValueType.Int32 => Fill<int>(ref cursor, n, key, depth, type),
            GgufValueType.Float32 => Fill<float>(ref cursor, n, key, depth, type),
            GgufValueType.Bool => Fill<bool>(ref cursor, n, key, depth, type),
            GgufValueType.String => Fill<string>(ref cursor, n, key, depth, type),
            GgufValueType.UInt64 => Fill<ulong>(ref cursor, n, key, depth, type),
            GgufValueType.Int64 => Fill<long>(ref cursor, n, key, depth, type),
            GgufValueType.Float64 => Fill<double>(ref cursor, n, key, depth, type),
            _ => Fill<Array>(ref cursor, n, key, depth, type),
        };
    }

    private static T[] Fill<T>(ref ByteCursor cursor, int count, string key, int depth, GgufValueType type)
    {
        var result = new T[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = (T)ReadValue(ref cursor, (uint)type, key, depth + 1);
        }

        return result;
    }
}
