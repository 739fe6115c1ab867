using Serving.Kernels.Tensors;

namespace Serving.Kernels.Models.Synthetic;

/// <summary>One tensor of a random-weight model, named as in GGUF; its bytes are generated on demand from the seed so
/// a 1.1B-parameter model can be streamed to a file without holding it in memory.</summary>
/// <param name="Name">GGUF tensor name.</param>
/// <param name="Type">Storage type.</param>
/// <param name="Shape">Outer-first shape.</param>
/// <param name="Kind">What the values should look like.</param>
/// <param name="Seed">Generator seed of this tensor.</param>
public sealed record SyntheticTensor(string Name, GgmlType Type, long[] Shape, SyntheticTensorKind Kind, ulong Seed)
{
    /// <summary>Bytes in the stored layout.</summary>
    public long ByteLength => GgmlTypeInfo.ByteCount(Type, Shape[0] * (Shape.Length > 1 ? Shape[1] : 1));
}

/// <summary>Value pattern of a synthetic tensor.</summary>
public enum SyntheticTensorKind
{
    /// <summary>Uniform values scaled by 1/√columns, so activations keep their size through the layers.</summary>
    Matrix,

    /// <summary>A norm weight: ones with a little noise.</summary>
    Norm,
}
