using System.Globalization;

namespace Serving.Kernels.Tokenizers;

/// <summary>Validates a <see cref="VocabularySpec"/>'s token table and fills in types it does not give.</summary>
internal static class TokenTypeResolver
{
    /// <summary>The type of every id: the spec's own, or inferred (BOS/EOS control, UNK unknown, <c>&lt;0xNN&gt;</c>
    /// byte tokens for SentencePiece, the rest normal).</summary>
    public static TokenType[] Resolve(VocabularySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var count = spec.Tokens.Count;
        if (count == 0)
        {
            throw new ArgumentException("The vocabulary has no tokens.", nameof(spec));
        }

        CheckId(spec.BosId, count, nameof(spec.BosId));
        CheckId(spec.EosId, count, nameof(spec.EosId));
        CheckId(spec.UnknownId, count, nameof(spec.UnknownId));
        CheckId(spec.PaddingId, count, nameof(spec.PaddingId));
        if (spec.Types is { } given)
        {
            if (given.Count != count)
            {
                throw new ArgumentException($"Types has {given.Count} entries for {count} tokens.", nameof(spec));
            }

            return [.. given];
        }

        var types = new TokenType[count];
        for (var id = 0; id < count; id++)
        {
            types[id] = id == spec.BosId || id == spec.EosId ? TokenType.Control
                : id == spec.UnknownId ? TokenType.Unknown
                : spec.Kind == TokenizerKind.SentencePieceBpe && TryParseByteToken(spec.Tokens[id], out _) ? TokenType.Byte
                : TokenType.Normal;
        }

        return types;
    }

    /// <summary>Parses SentencePiece's byte-fallback spelling <c>&lt;0xNN&gt;</c>.</summary>
    public static bool TryParseByteToken(string text, out byte value)
    {
        value = 0;
        return text is ['<', '0', 'x', _, _, '>']
            && byte.TryParse(text.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static void CheckId(int id, int count, string name)
    {
        if (id < -1 || id >= count)
        {
            throw new ArgumentException($"{name} {id} is outside the vocabulary of {count} tokens.", name);
        }
    }
}
