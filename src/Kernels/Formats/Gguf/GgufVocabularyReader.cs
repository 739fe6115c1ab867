using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Formats.Gguf;

/// <summary>Reads the <c>tokenizer.ggml.*</c> metadata into a <see cref="VocabularySpec"/>.</summary>
internal static class GgufVocabularyReader
{
    private const string Prefix = "tokenizer.ggml.";

    public static VocabularySpec Read(GgufMetadata metadata, string fileName)
    {
        var model = metadata.GetString(Prefix + "model");
        var kind = model switch
        {
            "llama" => TokenizerKind.SentencePieceBpe,
            "gpt2" => TokenizerKind.ByteLevelBpe,
            _ => throw new ModelFormatException(
                $"{fileName}: tokenizer model '{model}' is not supported (supported: llama = SentencePiece BPE, gpt2 = byte-level BPE)"),
        };
        var tokens = metadata.GetStringArray(Prefix + "tokens");
        if (tokens.Count == 0)
        {
            throw new ModelFormatException($"{fileName}: {Prefix}tokens is empty");
        }

        IReadOnlyList<float>? scores = null;
        if (metadata.TryGetFloat32Array(Prefix + "scores", out var s))
        {
            scores = SameCount(s, tokens.Count, "scores", fileName);
        }

        IReadOnlyList<TokenType>? types = null;
        if (metadata.TryGetInt32Array(Prefix + "token_type", out var t))
        {
            types = TokenTypes(SameCount(t, tokens.Count, "token_type", fileName), fileName);
        }

        var sentencePiece = kind == TokenizerKind.SentencePieceBpe;
        return new VocabularySpec
        {
            Kind = kind,
            Tokens = tokens,
            Scores = scores,
            Types = types,
            Merges = metadata.TryGetStringArray(Prefix + "merges", out var merges) ? merges : null,
            BosId = TokenId(metadata, "bos_token_id", tokens.Count, fileName),
            EosId = TokenId(metadata, "eos_token_id", tokens.Count, fileName),
            UnknownId = TokenId(metadata, "unknown_token_id", tokens.Count, fileName),
            PaddingId = TokenId(metadata, "padding_token_id", tokens.Count, fileName),
            AddBos = metadata.TryGetBool(Prefix + "add_bos_token", out var addBos) ? addBos : sentencePiece,
            AddEos = metadata.TryGetBool(Prefix + "add_eos_token", out var addEos) && addEos,
            AddSpacePrefix = metadata.TryGetBool(Prefix + "add_space_prefix", out var space) ? space : sentencePiece,
            PreTokenizer = metadata.TryGetString(Prefix + "pre", out var pre) ? pre : null,
        };
    }

    /// <summary>A token id under <c>tokenizer.ggml.{name}</c>, or -1 when absent or set to the "none" value
    /// (0xFFFFFFFF, which converters write for unused roles).</summary>
    public static int TokenId(GgufMetadata metadata, string name, int tokenCount, string fileName)
    {
        if (!metadata.TryGetUInt32(Prefix + name, out var id) || id == uint.MaxValue)
        {
            return -1;
        }

        return id < (uint)tokenCount
            ? (int)id
            : throw new ModelFormatException($"{fileName}: {Prefix}{name} is {id}, outside the {tokenCount}-token vocabulary");
    }

    private static IReadOnlyList<T> SameCount<T>(IReadOnlyList<T> values, int tokenCount, string name, string fileName) =>
        values.Count == tokenCount
            ? values
            : throw new ModelFormatException($"{fileName}: {Prefix}{name} has {values.Count} entries for {tokenCount} tokens");

    private static TokenType[] TokenTypes(IReadOnlyList<int> raw, string fileName)
    {
        var types = new TokenType[raw.Count];
        for (var i = 0; i < types.Length; i++)
        {
            types[i] = Enum.IsDefined((TokenType)raw[i])
                ? (TokenType)raw[i]
                : throw new ModelFormatException($"{fileName}: {Prefix}token_type[{i}] is {raw[i]}, not a known token type (1 to 6)");
        }

        return types;
    }
}
