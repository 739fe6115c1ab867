using System.Buffers;
using System.Text;

namespace Serving.Kernels.Tokenizers;

/// <summary>SentencePiece BPE with byte fallback (Llama 2, TinyLlama, Mistral, llama2.c).</summary>
/// <remarks>Normalization is what these models' SentencePiece protos ask for: no NFKC, no whitespace folding,
/// spaces become ▁ and, with <see cref="VocabularySpec.AddSpacePrefix"/>, a dummy ▁ is put in front. Text is first
/// cut at literal special tokens; every stretch of text between them gets its own dummy prefix, as llama.cpp's
/// SPM path does (a stretch is either the start of the text or follows a special token) and as the Hugging Face
/// Llama 2 <c>tokenizer.json</c> does (its Prepend("▁") normalizer runs on each stretch). Characters no piece
/// covers become their UTF-8 byte tokens, or one UNK per run when the vocabulary has no byte tokens
/// (SentencePiece's behaviour). Without scores in the spec, a piece's score is minus its id (lower ids merge
/// first, which is how SentencePiece orders its pieces). Microsoft.ML.Tokenizers' SentencePieceTokenizer is not used:
/// its only factory reads a serialized SentencePiece ModelProto, which GGUF, llama2.c and tokenizer.json
/// vocabularies do not carry.</remarks>
internal sealed class SentencePieceBpeTokenizer : TokenizerBase
{
    private const char Meta = '\u2581';
    private static readonly byte[] s_unknownSurface = Encoding.UTF8.GetBytes(" \u2047 ");

    private readonly SentencePieceMerger _merger;
    private readonly int[] _byteIds;
    private readonly bool _hasByteTokens;
    private readonly bool _addSpacePrefix;
    private readonly int _unknownId;

    private SentencePieceBpeTokenizer(VocabularySpec spec, TokenType[] types)
        : base(spec, types, BuildBytes(spec, types), BuildSpecials(spec, types), spec.AddSpacePrefix)
    {
        var count = spec.Tokens.Count;
        var scores = new float[count];
        var pieces = new Dictionary<string, int>(count, StringComparer.Ordinal);
        _byteIds = new int[256];
        Array.Fill(_byteIds, -1);
        for (var id = 0; id < count; id++)
        {
            scores[id] = spec.Scores is { } given ? given[id] : -id;
            if (types[id] is TokenType.Normal or TokenType.UserDefined)
            {
                pieces.TryAdd(spec.Tokens[id], id);
            }
            else if (types[id] == TokenType.Byte && TokenTypeResolver.TryParseByteToken(spec.Tokens[id], out var b)
                && _byteIds[b] < 0)
            {
                _byteIds[b] = id;
                _hasByteTokens = true;
            }
        }

        _merger = new SentencePieceMerger(pieces, scores);
        _addSpacePrefix = spec.AddSpacePrefix;
        _unknownId = spec.UnknownId;
    }

    /// <summary>Builds the tokenizer; the spec must be <see cref="TokenizerKind.SentencePieceBpe"/>.</summary>
    public static SentencePieceBpeTokenizer Create(VocabularySpec spec)
    {
        var types = TokenTypeResolver.Resolve(spec);
        if (spec.Scores is { } scores && scores.Count != spec.Tokens.Count)
        {
            throw new ArgumentException($"Scores has {scores.Count} entries for {spec.Tokens.Count} tokens.", nameof(spec));
        }

        return new SentencePieceBpeTokenizer(spec, types);
    }

    protected override void EncodeText(ReadOnlySpan<char> text, List<int> output)
    {
        var prefix = _addSpacePrefix ? 1 : 0;
        var length = text.Length + prefix;
        var chars = ArrayPool<char>.Shared.Rent(length);
        var symbols = ArrayPool<Symbol>.Shared.Rent(length);
        try
        {
            var normalized = chars.AsSpan(0, length);
            if (prefix == 1)
            {
                normalized[0] = Meta;
            }

            text.CopyTo(normalized[prefix..]);
            normalized.Replace(' ', Meta);
            var count = 0;
            for (var i = 0; i < length; count++)
            {
                var width = char.IsHighSurrogate(normalized[i]) && i + 1 < length && char.IsLowSurrogate(normalized[i + 1]) ? 2 : 1;
                symbols[count] = new Symbol { Start = i, Length = width, Prev = count - 1, Next = count + 1 };
                i += width;
            }

            symbols[count - 1].Next = -1;
            _merger.Merge(normalized, symbols.AsSpan(0, count));
            var previousWasUnknown = false;
            for (var s = 0; s >= 0; s = symbols[s].Next)
            {
                var piece = normalized.Slice(symbols[s].Start, symbols[s].Length);
                var id = _merger.Find(piece);
                if (id >= 0)
                {
                    output.Add(id);
                    previousWasUnknown = false;
                }
                else if (_hasByteTokens)
                {
                    AddBytes(piece, output);
                }
                else if (!previousWasUnknown)
                {
                    output.Add(UnknownOrThrow(piece));
                    previousWasUnknown = true;
                }
            }
        }
        finally
        {
            ArrayPool<Symbol>.Shared.Return(symbols);
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private void AddBytes(ReadOnlySpan<char> piece, List<int> output)
    {
        Span<byte> utf8 = stackalloc byte[8];
        var written = Encoding.UTF8.GetBytes(piece, utf8);
        for (var i = 0; i < written; i++)
        {
            var id = _byteIds[utf8[i]];
            output.Add(id >= 0 ? id : UnknownOrThrow(piece));
        }
    }

    private int UnknownOrThrow(ReadOnlySpan<char> piece) => _unknownId >= 0
        ? _unknownId
        : throw new ArgumentException($"'{piece}' has no token and the vocabulary has neither byte tokens nor UNK.");

    private static byte[][] BuildBytes(VocabularySpec spec, TokenType[] types)
    {
        var bytes = new byte[spec.Tokens.Count][];
        for (var id = 0; id < bytes.Length; id++)
        {
            bytes[id] = types[id] switch
            {
                TokenType.Normal or TokenType.UserDefined => Encoding.UTF8.GetBytes(spec.Tokens[id].Replace(Meta, ' ')),
                TokenType.Byte when TokenTypeResolver.TryParseByteToken(spec.Tokens[id], out var b) => [b],
                TokenType.Unknown => s_unknownSurface,
                _ => [],
            };
        }

        return bytes;
    }

    private static SpecialTokenMatcher BuildSpecials(VocabularySpec spec, TokenType[] types)
    {
        var literals = new List<(string, int)>();
        for (var id = 0; id < types.Length; id++)
        {
            if (IsLiteral(types[id]))
            {
                literals.Add((spec.Tokens[id].Replace(Meta, ' '), id));
            }
        }

        return new SpecialTokenMatcher(literals);
    }
}
