using System.Buffers.Binary;
using System.Text;
using Serving.Kernels.Formats;

namespace Serving.Kernels.Tokenizers;

/// <summary>Reads llama2.c's <c>tok*.bin</c> tokenizer files into a <see cref="VocabularySpec"/>.</summary>
/// <remarks>Layout (little-endian): int32 max_token_length, then per token float32 score, int32 byte length and
/// that many UTF-8 bytes. The file does not store the token count (run.c takes it from the model header), so
/// without one the reader takes every record up to the end. llama2.c's exporter replaced SentencePiece's ▁ with a
/// space and spelled BOS/EOS as "\n&lt;s&gt;\n" and "\n&lt;/s&gt;\n"; the reader undoes both so the spec is an
/// ordinary SentencePiece vocabulary: ids 0/1/2 are UNK/BOS/EOS, &lt;0xNN&gt; are byte tokens.</remarks>
public static class Llama2cTokenizerReader
{
    private const int MaxSaneTokenLength = 1 << 16;
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the file at <paramref name="path"/>; <paramref name="vocabSize"/> is the model's vocabulary
    /// size, or null to read records up to the end of the file.</summary>
    public static VocabularySpec Read(string path, int? vocabSize = null) =>
        Parse(File.ReadAllBytes(path), path, vocabSize);

    /// <summary>Parses a whole <c>tok*.bin</c> held in memory. <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ModelFormatException">The data is truncated, a length is out of range, a token is not
    /// UTF-8, or there are fewer than three tokens.</exception>
    public static VocabularySpec Parse(ReadOnlySpan<byte> data, string source, int? vocabSize = null)
    {
        if (vocabSize is < 3)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "A llama2.c vocabulary has at least 3 tokens.");
        }

        if (data.Length < 4)
        {
            throw new ModelFormatException($"{source}: {data.Length} bytes is too short for the max_token_length header.");
        }

        var maxLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (maxLength is <= 0 or > MaxSaneTokenLength)
        {
            throw new ModelFormatException($"{source}: max_token_length {maxLength} at offset 0 is out of range.");
        }

        var tokens = new List<string>(vocabSize ?? 512);
        var scores = new List<float>(vocabSize ?? 512);
        var types = new List<TokenType>(vocabSize ?? 512);
        var offset = 4;
        while (vocabSize is { } n ? tokens.Count < n : offset < data.Length)
        {
            var id = tokens.Count;
            if (data.Length - offset < 8)
            {
                throw new ModelFormatException(
                    $"{source}: truncated at offset {offset}: token {id} needs an 8-byte score and length, {data.Length - offset} bytes left.");
            }

            var score = BinaryPrimitives.ReadSingleLittleEndian(data[offset..]);
            var length = BinaryPrimitives.ReadInt32LittleEndian(data[(offset + 4)..]);
            if (!float.IsFinite(score))
            {
                throw new ModelFormatException($"{source}: token {id} at offset {offset} has a non-finite score {score}.");
            }

            if (length < 0 || length > maxLength)
            {
                throw new ModelFormatException(
                    $"{source}: token {id} at offset {offset + 4} has length {length}, outside [0, max_token_length {maxLength}].");
            }

            offset += 8;
            if (data.Length - offset < length)
            {
                throw new ModelFormatException(
                    $"{source}: truncated at offset {offset}: token {id} needs {length} bytes, {data.Length - offset} left.");
            }

            string text;
            try
            {
                text = s_strictUtf8.GetString(data.Slice(offset, length));
            }
            catch (DecoderFallbackException ex)
            {
                throw new ModelFormatException($"{source}: token {id} at offset {offset} is not valid UTF-8.", ex);
            }

            offset += length;
            var (piece, type) = Classify(id, text);
            tokens.Add(piece);
            scores.Add(score);
            types.Add(type);
        }

        if (tokens.Count < 3)
        {
            throw new ModelFormatException($"{source}: {tokens.Count} tokens; UNK, BOS and EOS are required.");
        }

        return new VocabularySpec
        {
            Kind = TokenizerKind.SentencePieceBpe,
            Tokens = tokens,
            Scores = scores,
            Types = types,
            UnknownId = 0,
            BosId = 1,
            EosId = 2,
            AddBos = true,
            AddSpacePrefix = true,
        };
    }

    private static (string Piece, TokenType Type) Classify(int id, string text) => id switch
    {
        0 => ("<unk>", TokenType.Unknown),
        1 => ("<s>", TokenType.Control),
        2 => ("</s>", TokenType.Control),
        _ when TokenTypeResolver.TryParseByteToken(text, out _) => (text, TokenType.Byte),
        _ => (text.Replace(' ', '\u2581'), TokenType.Normal),
    };
}
