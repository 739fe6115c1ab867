using Serving.Kernels.Tensors;

namespace Serving.Kernels.Models;

/// <summary>All tensors of a Llama-family model, already checked against its <see cref="ModelConfig"/>.</summary>
public sealed record ModelWeights
{
    /// <summary>Token embedding table, <c>[vocab, hidden]</c>.</summary>
    public required WeightTensor TokenEmbedding { get; init; }

    /// <summary>Final RMSNorm weight, <c>[hidden]</c>.</summary>
    public required WeightTensor OutputNorm { get; init; }

    /// <summary>Output projection to logits, <c>[vocab, hidden]</c>; the embedding table itself when tied.</summary>
    public required WeightTensor Output { get; init; }

    /// <summary>Decoder layers in order.</summary>
    public required IReadOnlyList<LayerWeights> Layers { get; init; }
}
