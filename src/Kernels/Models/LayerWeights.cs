using Serving.Kernels.Tensors;

namespace Serving.Kernels.Models;

/// <summary>The tensors of one decoder layer. Matrices are <c>[out, in]</c>.</summary>
public sealed record LayerWeights
{
    /// <summary>RMSNorm weight before attention, <c>[hidden]</c>.</summary>
    public required WeightTensor AttentionNorm { get; init; }

    /// <summary>Query projection, <c>[heads*headDim, hidden]</c>.</summary>
    public required WeightTensor Query { get; init; }

    /// <summary>Key projection, <c>[kvHeads*headDim, hidden]</c>.</summary>
    public required WeightTensor Key { get; init; }

    /// <summary>Value projection, <c>[kvHeads*headDim, hidden]</c>.</summary>
    public required WeightTensor Value { get; init; }

    /// <summary>Attention output projection, <c>[hidden, heads*headDim]</c>.</summary>
    public required WeightTensor Output { get; init; }

    /// <summary>Query bias (Qwen2), or null.</summary>
    public WeightTensor? QueryBias { get; init; }

    /// <summary>Key bias (Qwen2), or null.</summary>
    public WeightTensor? KeyBias { get; init; }

    /// <summary>Value bias (Qwen2), or null.</summary>
    public WeightTensor? ValueBias { get; init; }

    /// <summary>RMSNorm weight before the feed-forward block, <c>[hidden]</c>.</summary>
    public required WeightTensor FeedForwardNorm { get; init; }

    /// <summary>Gate projection (w1), <c>[intermediate, hidden]</c>.</summary>
    public required WeightTensor Gate { get; init; }

    /// <summary>Up projection (w3), <c>[intermediate, hidden]</c>.</summary>
    public required WeightTensor Up { get; init; }

    /// <summary>Down projection (w2), <c>[hidden, intermediate]</c>.</summary>
    public required WeightTensor Down { get; init; }

    /// <summary>The seven matrices, in the order a step multiplies by them.</summary>
    public IEnumerable<WeightTensor> Matrices => [Query, Key, Value, Output, Gate, Up, Down];
}
