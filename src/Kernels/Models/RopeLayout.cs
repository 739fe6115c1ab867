namespace Serving.Kernels.Models;

/// <summary>How rotary position embedding pairs the dimensions of a head.</summary>
public enum RopeLayout
{
    /// <summary>Adjacent pairs (2i, 2i+1) rotate together: llama2.c, and GGUF "llama" files whose Q/K rows the
    /// converter permuted into this order.</summary>
    Interleaved,

    /// <summary>Dimension i rotates with i + headDim/2 ("rotate_half"): Hugging Face checkpoints, and GGUF
    /// architectures that llama.cpp runs with NEOX rope (qwen2).</summary>
    HalfSplit,
}
