namespace Serving.Kernels.Formats.Gguf;

/// <summary>Maps between GGUF value types and the .NET types metadata values are held in: scalars as the matching
/// primitive (byte, sbyte, ushort, short, uint, int, float, bool, string, ulong, long, double), arrays as typed
/// .NET arrays of those (an array of arrays as <c>Array[]</c>).</summary>
internal static class GgufValueCodec
{
    /// <summary>Smallest encoded size of one value, used to refuse counts the remaining bytes cannot hold.</summary>
    public static int MinimumSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown GGUF value type"),
    };

    /// <summary>The GGUF type of a scalar .NET value, or null when the value is not a scalar GGUF can hold.</summary>
    public static GgufValueType? ScalarType(object value) => value switch
    {
        byte => GgufValueType.UInt8,
        sbyte => GgufValueType.Int8,
        ushort => GgufValueType.UInt16,
        short => GgufValueType.Int16,
        uint => GgufValueType.UInt32,
        int => GgufValueType.Int32,
        float => GgufValueType.Float32,
        bool => GgufValueType.Bool,
        string => GgufValueType.String,
        ulong => GgufValueType.UInt64,
        long => GgufValueType.Int64,
        double => GgufValueType.Float64,
        Array => GgufValueType.Array,
        _ => null,
    };

    /// <summary>The GGUF element type of a .NET array, or null when GGUF cannot hold it. Matches the exact element
    /// type: the runtime lets an int[] pass as uint[] (and sbyte[] as byte[]), so <c>is</c> patterns would mislabel.</summary>
    public static GgufValueType? ElementType(Array array)
    {
        var element = array.GetType().GetElementType();
        return element == typeof(byte) ? GgufValueType.UInt8
            : element == typeof(sbyte) ? GgufValueType.Int8
            : element == typeof(ushort) ? GgufValueType.UInt16
            : element == typeof(short) ? GgufValueType.Int16
            : element == typeof(uint) ? GgufValueType.UInt32
            : element == typeof(int) ? GgufValueType.Int32
            : element == typeof(float) ? GgufValueType.Float32
            : element == typeof(bool) ? GgufValueType.Bool
            : element == typeof(string) ? GgufValueType.String
            : element == typeof(ulong) ? GgufValueType.UInt64
            : element == typeof(long) ? GgufValueType.Int64
            : element == typeof(double) ? GgufValueType.Float64
            : element == typeof(Array) ? GgufValueType.Array
            : null;
    }

    /// <summary>A human-readable type name for messages, e.g. <c>uint32</c> or <c>array of string</c>.</summary>
    public static string Describe(object value) => value switch
    {
        Array array => "array of " + (ElementType(array) is { } t ? Name(t) : array.GetType().Name),
        _ => ScalarType(value) is { } s ? Name(s) : value.GetType().Name,
    };

    /// <summary>Lower-case name of a type as the GGUF specification spells it.</summary>
    public static string Name(GgufValueType type) => type.ToString().ToLowerInvariant();
}
