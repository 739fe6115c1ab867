using System.Buffers.Binary;
using Serving.Kernels.Formats;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Tests.Tokenizers;

public sealed class Llama2cTokenizerReaderTests
{
    private static readonly byte[] s_file = File.ReadAllBytes(Fixtures.Tok512Path);

    [Fact]
    public void Reads_tok512_as_a_sentencepiece_vocabulary()
    {
        var spec = Llama2cTokenizerReader.Parse(s_file, "tok512.bin");
        Assert.Equal(TokenizerKind.SentencePieceBpe, spec.Kind);
        Assert.Equal(512, spec.Tokens.Count);
        Assert.Equal(["<unk>", "<s>", "</s>", "<0x00>"], spec.Tokens.Take(4));
        Assert.Equal("\u2581t", spec.Tokens[259]);
        Assert.Equal(-144f, spec.Scores![403]);
        Assert.Equal([TokenType.Unknown, TokenType.Control, TokenType.Control, TokenType.Byte], spec.Types!.Take(4));
        Assert.Equal(TokenType.Normal, spec.Types![259]);
        Assert.Equal((0, 1, 2), (spec.UnknownId, spec.BosId, spec.EosId));
    }

    [Fact]
    public void Every_truncation_is_a_format_error_naming_the_offset()
    {
        for (var length = 0; length < s_file.Length; length += 7)
        {
            var error = Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(s_file.AsSpan(0, length), "cut.bin", 512));
            Assert.Contains("cut.bin", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Truncation_inside_a_record_fails_even_without_a_token_count()
    {
        var error = Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(s_file.AsSpan(0, s_file.Length - 1), "cut.bin"));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_token_length_is_a_format_error()
    {
        var damaged = (byte[])s_file.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(damaged.AsSpan(4 + 4), 100_000);
        var error = Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(damaged, "big.bin", 512));
        Assert.Contains("offset 8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_token_length_is_a_format_error()
    {
        var damaged = (byte[])s_file.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(damaged.AsSpan(4 + 4), -1);
        Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(damaged, "neg.bin", 512));
    }

    [Fact]
    public void Bad_header_is_a_format_error()
    {
        var damaged = (byte[])s_file.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(damaged, 0);
        Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(damaged, "hdr.bin", 512));
    }

    [Fact]
    public void Invalid_utf8_token_is_a_format_error()
    {
        var damaged = (byte[])s_file.Clone();
        damaged[4 + 8] = 0xFF;
        Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(damaged, "utf.bin", 512));
    }
}
