using System.Text;
using Microsoft.ML.Tokenizers;

namespace Serving.Kernels.Tokenizers;

/// <summary>GPT-2 style byte-level BPE by merge rank (GPT-2, Llama 3, Qwen2).</summary>
/// <remarks>The merging itself is Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> (a port of Hugging Face's BPE
/// model, with its word cache), fed our vocabulary, merges and pre-tokenizer regex. What stays here and why:
/// special/added tokens are cut out of the text first by <see cref="SpecialTokenMatcher"/>, so both tokenizer kinds
/// match them the same way (leftmost, then longest); decoding goes through <see cref="ITokenizer.GetTokenBytes"/> so
/// that a streaming detokenizer and <see cref="ITokenizer.Decode"/> agree byte for byte and invalid UTF-8 becomes
/// U+FFFD. Added tokens decode to their literal text; control tokens to nothing.</remarks>
internal sealed class ByteLevelBpeTokenizer : TokenizerBase
{
    private readonly BpeTokenizer _bpe;

    private ByteLevelBpeTokenizer(VocabularySpec spec, TokenType[] types, BpeTokenizer bpe)
        : base(spec, types, BuildBytes(spec, types), BuildSpecials(spec, types), stripsLeadingSpace: false) =>
        _bpe = bpe;

    /// <summary>Builds the tokenizer; the spec must be <see cref="TokenizerKind.ByteLevelBpe"/> with merges.</summary>
    public static ByteLevelBpeTokenizer Create(VocabularySpec spec)
    {
        var types = TokenTypeResolver.Resolve(spec);
        var merges = spec.Merges ?? throw new ArgumentException("A byte-level BPE vocabulary needs merges.", nameof(spec));
        var vocabulary = new Dictionary<string, int>(spec.Tokens.Count, StringComparer.Ordinal);
        for (var id = 0; id < spec.Tokens.Count; id++)
        {
            if (types[id] is TokenType.Normal or TokenType.Byte or TokenType.Unknown)
            {
                vocabulary.TryAdd(spec.Tokens[id], id);
            }
        }

        var bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(PreTokenizerPatterns.ForFamily(spec.PreTokenizer), null),
        });
        return new ByteLevelBpeTokenizer(spec, types, bpe);
    }

    protected override void EncodeText(ReadOnlySpan<char> text, List<int> output) =>
        output.AddRange(_bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));

    private static byte[][] BuildBytes(VocabularySpec spec, TokenType[] types)
    {
        var bytes = new byte[spec.Tokens.Count][];
        for (var id = 0; id < bytes.Length; id++)
        {
            bytes[id] = types[id] switch
            {
                TokenType.Control or TokenType.Unused => [],
                TokenType.UserDefined => Encoding.UTF8.GetBytes(spec.Tokens[id]),
                _ => FromAlphabet(spec.Tokens[id]),
            };
        }

        return bytes;
    }

    /// <summary>Maps a token spelled in the byte-level alphabet back to bytes; a character outside the alphabet
    /// (only in odd hand-made vocabularies) stands for its own UTF-8.</summary>
    private static byte[] FromAlphabet(string token)
    {
        var bytes = new List<byte>(token.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var c in token)
        {
            var b = ByteLevelAlphabet.ToByte(c);
            if (b >= 0)
            {
                bytes.Add((byte)b);
                continue;
            }

            var n = Encoding.UTF8.GetBytes([c], utf8);
            bytes.AddRange(utf8[..n]);
        }

        return [.. bytes];
    }

    private static SpecialTokenMatcher BuildSpecials(VocabularySpec spec, TokenType[] types)
    {
        var literals = new List<(string, int)>();
        for (var id = 0; id < types.Length; id++)
        {
            if (IsLiteral(types[id]))
            {
                literals.Add((spec.Tokens[id], id));
            }
        }

        return new SpecialTokenMatcher(literals);
    }
}
