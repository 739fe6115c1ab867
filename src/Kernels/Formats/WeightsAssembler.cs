using Serving.Kernels.Models;
using Serving.Kernels.Tensors;
using static Serving.Kernels.Formats.TensorNaming.Roles;

namespace Serving.Kernels.Formats;

/// <summary>Looks up every tensor a <see cref="ModelConfig"/> needs, checks its type and outer-first shape, and
/// assembles <see cref="ModelWeights"/>. Errors name the tensor and what was expected.</summary>
internal sealed class WeightsAssembler(ModelConfig config, TensorNaming naming, Func<string, WeightTensor?> lookup, string source)
{
    public ModelWeights Build()
    {
        var embedding = Matrix(naming.TokenEmbedding, config.VocabSize, config.HiddenSize);
        var layers = new LayerWeights[config.LayerCount];
        for (var i = 0; i < layers.Length; i++)
        {
            layers[i] = Layer(i);
        }

        return new ModelWeights
        {
            TokenEmbedding = embedding,
            OutputNorm = Vector(naming.OutputNorm, config.HiddenSize),
            Output = config.TiedEmbeddings ? embedding : Matrix(naming.Output, config.VocabSize, config.HiddenSize),
            Layers = layers,
        };
    }

    private LayerWeights Layer(int i)
    {
        string Name(string role) => naming.Layer(i, role);
        var bias = config.AttentionBias;
        return new LayerWeights
        {
            AttentionNorm = Vector(Name(AttentionNorm), config.HiddenSize),
            Query = Matrix(Name(Query), config.QDim, config.HiddenSize),
            Key = Matrix(Name(Key), config.KvDim, config.HiddenSize),
            Value = Matrix(Name(Value), config.KvDim, config.HiddenSize),
            Output = Matrix(Name(AttentionOutput), config.HiddenSize, config.QDim),
            QueryBias = bias ? Vector(Name(QueryBias), config.QDim) : null,
            KeyBias = bias ? Vector(Name(KeyBias), config.KvDim) : null,
            ValueBias = bias ? Vector(Name(ValueBias), config.KvDim) : null,
            FeedForwardNorm = Vector(Name(FeedForwardNorm), config.HiddenSize),
            Gate = Matrix(Name(Gate), config.IntermediateSize, config.HiddenSize),
            Up = Matrix(Name(Up), config.IntermediateSize, config.HiddenSize),
            Down = Matrix(Name(Down), config.HiddenSize, config.IntermediateSize),
        };
    }

    private WeightTensor Matrix(string name, long rows, long columns)
    {
        var tensor = Find(name);
        if (!GgmlTypeInfo.IsSupportedWeightType(tensor.Type))
        {
            throw new ModelFormatException(
                $"{source}: tensor '{name}' is stored as {tensor.Type}, which the model runner cannot execute " +
                "(weight matrices must be F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K)");
        }

        CheckShape(tensor, [rows, columns]);
        var block = GgmlTypeInfo.BlockSize(tensor.Type);
        if (columns % block != 0)
        {
            throw new ModelFormatException(
                $"{source}: tensor '{name}' is stored as {tensor.Type}, whose blocks of {block} weights do not divide its rows of {columns}");
        }

        return tensor;
    }

    private WeightTensor Vector(string name, long length)
    {
        var tensor = Find(name);
        if (tensor.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
        {
            throw new ModelFormatException(
                $"{source}: tensor '{name}' is stored as {tensor.Type}; norm weights and biases must be F32, F16 or BF16");
        }

        return CheckShape(tensor, [length]);
    }

    private WeightTensor Find(string name) =>
        lookup(name) ?? throw new ModelFormatException($"{source}: tensor '{name}' is missing");

    private WeightTensor CheckShape(WeightTensor tensor, long[] expected) =>
        tensor.Shape.AsSpan().SequenceEqual(expected)
            ? tensor
            : throw new ModelFormatException(
                $"{source}: tensor '{tensor.Name}' has shape {tensor.ShapeText}, expected [{string.Join(", ", expected)}] " +
                $"for hidden {config.HiddenSize}, intermediate {config.IntermediateSize}, heads {config.HeadCount}/{config.KvHeadCount} " +
                $"of {config.HeadDim}, vocab {config.VocabSize}");
}
