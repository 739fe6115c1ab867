namespace Serving.Kernels.Tokenizers;

/// <summary>Builds the tokenizer a vocabulary asks for.</summary>
public static class TokenizerFactory
{
    /// <summary>Creates an <see cref="ITokenizer"/> for <paramref name="spec"/> (SentencePiece BPE with byte
    /// fallback, or byte-level BPE). Throws <see cref="ArgumentException"/> for an inconsistent spec and
    /// <see cref="NotSupportedException"/> for an unknown byte-level pre-tokenizer.</summary>
    public static ITokenizer Create(VocabularySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Kind switch
        {
            TokenizerKind.SentencePieceBpe => SentencePieceBpeTokenizer.Create(spec),
            TokenizerKind.ByteLevelBpe => ByteLevelBpeTokenizer.Create(spec),
            _ => throw new NotSupportedException($"Tokenizer kind {spec.Kind} is not supported."),
        };
    }
}
