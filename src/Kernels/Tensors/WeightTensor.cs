namespace Serving.Kernels.Tensors;

/// <summary>
/// A tensor as stored in a model file: its bytes stay where the file is memory-mapped (or in native memory the
/// loader owns), never copied into the managed heap. Shape is outer-first (numpy order): a weight matrix that maps
/// <c>in</c> features to <c>out</c> features has shape <c>[out, in]</c> and stores each output row contiguously.
/// </summary>
public sealed class WeightTensor
{
    /// <summary>Creates a view of <paramref name="byteLength"/> bytes at <paramref name="data"/>.</summary>
    public WeightTensor(string name, GgmlType type, long[] shape, nint data, long byteLength)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Name = name;
        Type = type;
        Shape = shape;
        Data = data;
        ByteLength = byteLength;
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }

        ElementCount = count;
    }

    /// <summary>Name in the source file (e.g. <c>blk.0.attn_q.weight</c>).</summary>
    public string Name { get; }

    /// <summary>Element type as stored.</summary>
    public GgmlType Type { get; }

    /// <summary>Outer-first dimensions.</summary>
    public long[] Shape { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>Address of the first byte; valid while the owning model is not disposed.</summary>
    public nint Data { get; }

    /// <summary>Number of bytes at <see cref="Data"/>.</summary>
    public long ByteLength { get; }

    /// <summary>Rows of a matrix (product of all but the last dimension).</summary>
    public long Rows => Shape.Length == 0 ? 1 : ElementCount / Shape[^1];

    /// <summary>Elements per row (the last, innermost dimension).</summary>
    public long Columns => Shape.Length == 0 ? 1 : Shape[^1];

    /// <summary>Bytes per row in the stored layout.</summary>
    public long RowBytes => GgmlTypeInfo.ByteCount(Type, Columns);

    /// <summary>Shape as text, e.g. <c>[2048, 5632]</c>, for error messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Type} {ShapeText}";
}
