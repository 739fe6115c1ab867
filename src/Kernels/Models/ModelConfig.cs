namespace Serving.Kernels.Models;

/// <summary>Hyper-parameters of a Llama-family decoder (Llama 2/3, TinyLlama, Mistral, Qwen2), independent of the
/// file format it was read from.</summary>
public sealed record ModelConfig
{
    /// <summary>Architecture family name as the source names it (llama, mistral, qwen2).</summary>
    public required string Architecture { get; init; }

    /// <summary>Residual stream width (dim, hidden_size).</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Feed-forward inner width (hidden_dim, intermediate_size).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Number of decoder layers.</summary>
    public required int LayerCount { get; init; }

    /// <summary>Query heads.</summary>
    public required int HeadCount { get; init; }

    /// <summary>Key/value heads (fewer than query heads under grouped-query attention).</summary>
    public required int KvHeadCount { get; init; }

    /// <summary>Width of one head.</summary>
    public required int HeadDim { get; init; }

    /// <summary>Vocabulary size (rows of the embedding table).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Longest context the model was trained for.</summary>
    public required int MaxPositions { get; init; }

    /// <summary>Epsilon of RMSNorm.</summary>
    public float RmsNormEps { get; init; } = 1e-5f;

    /// <summary>RoPE base frequency.</summary>
    public float RopeTheta { get; init; } = 10000f;

    /// <summary>Dimensions per head that RoPE rotates (all of them for these architectures).</summary>
    public int RopeDimensions { get; init; }

    /// <summary>Pairing of rotated dimensions, fixed by the source format (see <see cref="RopeLayout"/>).</summary>
    public RopeLayout RopeLayout { get; init; } = RopeLayout.Interleaved;

    /// <summary>Per-frequency divisors (length RopeDimensions/2) applied to the inverse frequencies, as Llama 3.1's
    /// "llama3" rope scaling or GGUF's <c>rope_freqs.weight</c> give them; null when unscaled.</summary>
    public IReadOnlyList<float>? RopeFrequencyFactors { get; init; }

    /// <summary>Whether the Q/K/V projections carry a bias (Qwen2).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Whether the output projection reuses the token embedding table.</summary>
    public bool TiedEmbeddings { get; init; }

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => HeadCount / KvHeadCount;

    /// <summary>Width of all key (or value) heads of one token.</summary>
    public int KvDim => KvHeadCount * HeadDim;

    /// <summary>Width of all query heads of one token.</summary>
    public int QDim => HeadCount * HeadDim;
}
