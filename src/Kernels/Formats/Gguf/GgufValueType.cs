using System.Diagnostics.CodeAnalysis;

namespace Serving.Kernels.Formats.Gguf;

/// <summary>Metadata value types, numbered as in the GGUF specification (gguf_metadata_value_type).</summary>
[SuppressMessage("Naming", "CA1720", Justification = "Names match the GGUF specification's value type names.")]
public enum GgufValueType
{
    /// <summary>8-bit unsigned integer.</summary>
    UInt8 = 0,

    /// <summary>8-bit signed integer.</summary>
    Int8 = 1,

    /// <summary>16-bit unsigned integer.</summary>
    UInt16 = 2,

    /// <summary>16-bit signed integer.</summary>
    Int16 = 3,

    /// <summary>32-bit unsigned integer.</summary>
    UInt32 = 4,

    /// <summary>32-bit signed integer.</summary>
    Int32 = 5,

    /// <summary>IEEE 754 single precision.</summary>
    Float32 = 6,

    /// <summary>One byte, 0 or 1.</summary>
    Bool = 7,

    /// <summary>uint64 length, then UTF-8 bytes.</summary>
    String = 8,

    /// <summary>Element type, uint64 count, then the elements.</summary>
    Array = 9,

    /// <summary>64-bit unsigned integer.</summary>
    UInt64 = 10,

    /// <summary>64-bit signed integer.</summary>
    Int64 = 11,

    /// <summary>IEEE 754 double precision.</summary>
    Float64 = 12,
}
