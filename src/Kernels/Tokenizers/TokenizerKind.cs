namespace Serving.Kernels.Tokenizers;

/// <summary>The tokenization algorithm a vocabulary is used with.</summary>
public enum TokenizerKind
{
    /// <summary>SentencePiece BPE by piece score with byte fallback (Llama 2, TinyLlama, Mistral, llama2.c).</summary>
    SentencePieceBpe,

    /// <summary>GPT-2 style byte-level BPE by merge rank (GPT-2, Llama 3, Qwen2).</summary>
    ByteLevelBpe,
}
