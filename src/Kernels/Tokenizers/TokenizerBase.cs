using System.Buffers;
using System.Text;

namespace Serving.Kernels.Tokenizers;

/// <summary>What both BPE flavours share: the token table, literal special-token matching, BOS/EOS, and decoding
/// by joining each token's bytes.</summary>
internal abstract class TokenizerBase : ITokenizer
{
    private readonly string[] _texts;
    private readonly TokenType[] _types;
    private readonly byte[][] _bytes;
    private readonly SpecialTokenMatcher _specials;
    private readonly bool _addEos;

    protected TokenizerBase(VocabularySpec spec, TokenType[] types, byte[][] tokenBytes, SpecialTokenMatcher specials,
        bool stripsLeadingSpace)
    {
        _texts = [.. spec.Tokens];
        _types = types;
        _bytes = tokenBytes;
        _specials = specials;
        _addEos = spec.AddEos;
        BosId = spec.BosId;
        EosId = spec.EosId;
        AddBos = spec.AddBos;
        StripsLeadingSpace = stripsLeadingSpace;
    }

    public int VocabSize => _texts.Length;

    public int BosId { get; }

    public int EosId { get; }

    public bool AddBos { get; }

    public bool StripsLeadingSpace { get; }

    protected IReadOnlyList<TokenType> Types => _types;

    public int[] Encode(string text, bool addSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>((text.Length / 3) + 2);
        if (addSpecialTokens && AddBos && BosId >= 0)
        {
            output.Add(BosId);
        }

        var span = text.AsSpan();
        var start = 0;
        while (start < span.Length)
        {
            var length = 0;
            var id = -1;
            var at = _specials.IsEmpty ? -1 : _specials.FindNext(span, start, out length, out id);
            if (at < 0)
            {
                EncodeText(span[start..], output);
                break;
            }

            if (at > start)
            {
                EncodeText(span[start..at], output);
            }

            output.Add(id);
            start = at + length;
        }

        if (addSpecialTokens && _addEos && EosId >= 0)
        {
            output.Add(EosId);
        }

        return [.. output];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens)
    {
        var length = 0;
        foreach (var id in ids)
        {
            CheckId(id);
            length += IsSpecial(id) && !skipSpecialTokens ? Encoding.UTF8.GetMaxByteCount(_texts[id].Length) : _bytes[id].Length;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var written = 0;
            var atStart = true;
            foreach (var id in ids)
            {
                if (IsSpecial(id))
                {
                    if (!skipSpecialTokens)
                    {
                        written += Encoding.UTF8.GetBytes(_texts[id], buffer.AsSpan(written));
                    }

                    continue;
                }

                ReadOnlySpan<byte> piece = _bytes[id];
                if (piece.Length == 0)
                {
                    continue;
                }

                if (atStart && StripsLeadingSpace && piece[0] == (byte)' ')
                {
                    piece = piece[1..];
                }

                atStart = false;
                piece.CopyTo(buffer.AsSpan(written));
                written += piece.Length;
            }

            // Encoding.UTF8 replaces every invalid sequence (e.g. a lone byte-fallback token) with U+FFFD.
            return Encoding.UTF8.GetString(buffer, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public ReadOnlySpan<byte> GetTokenBytes(int id)
    {
        CheckId(id);
        return _bytes[id];
    }

    public bool IsSpecial(int id)
    {
        CheckId(id);
        return _types[id] == TokenType.Control;
    }

    public string GetTokenText(int id)
    {
        CheckId(id);
        return _texts[id];
    }

    /// <summary>Appends the ids of a stretch of text that holds no special token.</summary>
    protected abstract void EncodeText(ReadOnlySpan<char> text, List<int> output);

    /// <summary>Tokens that are matched literally in text: control, user-defined and the unknown token (all are
    /// added tokens in Hugging Face files, and llama.cpp matches the same set).</summary>
    protected static bool IsLiteral(TokenType type) =>
        type is TokenType.Control or TokenType.UserDefined or TokenType.Unknown;

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)_texts.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id must be in [0, {_texts.Length}).");
        }
    }
}
