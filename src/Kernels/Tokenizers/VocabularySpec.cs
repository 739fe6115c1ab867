namespace Serving.Kernels.Tokenizers;

/// <summary>Everything needed to build a tokenizer, independent of the file it came from (GGUF metadata,
/// <c>tokenizer.json</c>, or a llama2.c <c>tok*.bin</c>).</summary>
public sealed record VocabularySpec
{
    /// <summary>Algorithm.</summary>
    public required TokenizerKind Kind { get; init; }

    /// <summary>Token texts by id, as the vocabulary stores them (SentencePiece uses ▁ for space; byte-level BPE
    /// uses the GPT-2 byte-to-unicode alphabet).</summary>
    public required IReadOnlyList<string> Tokens { get; init; }

    /// <summary>Piece scores (SentencePiece), or null.</summary>
    public IReadOnlyList<float>? Scores { get; init; }

    /// <summary>Token types by id, or null when unknown (then inferred: &lt;0xNN&gt; are bytes, the rest normal
    /// except the BOS/EOS/UNK ids).</summary>
    public IReadOnlyList<TokenType>? Types { get; init; }

    /// <summary>Merge rules "left right" in rank order (byte-level BPE), or null.</summary>
    public IReadOnlyList<string>? Merges { get; init; }

    /// <summary>BOS id or -1.</summary>
    public int BosId { get; init; } = -1;

    /// <summary>EOS id or -1.</summary>
    public int EosId { get; init; } = -1;

    /// <summary>Unknown-token id or -1.</summary>
    public int UnknownId { get; init; } = -1;

    /// <summary>Padding id or -1.</summary>
    public int PaddingId { get; init; } = -1;

    /// <summary>Whether prompts get BOS prepended.</summary>
    public bool AddBos { get; init; } = true;

    /// <summary>Whether prompts get EOS appended.</summary>
    public bool AddEos { get; init; }

    /// <summary>Whether SentencePiece prepends a space to the text (add_dummy_prefix).</summary>
    public bool AddSpacePrefix { get; init; } = true;

    /// <summary>Byte-level pre-tokenizer regex family (gpt2, llama3, qwen2), as GGUF's <c>tokenizer.ggml.pre</c>
    /// names it; null for SentencePiece.</summary>
    public string? PreTokenizer { get; init; }
}
