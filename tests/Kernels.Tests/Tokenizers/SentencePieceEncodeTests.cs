namespace Serving.Kernels.Tests.Tokenizers;

public sealed class SentencePieceEncodeTests
{
    [Fact]
    public void Once_upon_a_time_matches_run_c() =>
        Assert.Equal([1, 403, 407, 261, 378], Tok512.Tokenizer.Encode("Once upon a time", addSpecialTokens: true));

    [Theory]
    [InlineData("Lily", new[] { 317 })]
    [InlineData(" Lily", new[] { 410, 317 })]
    [InlineData(",", new[] { 410, 432 })]
    [InlineData("Once upon a time, there", new[] { 403, 407, 261, 378, 432, 383 })]
    [InlineData("the.", new[] { 265, 426 })]
    [InlineData("", new int[0])]
    public void Encodes_pieces_from_the_vocabulary(string text, int[] expected) =>
        Assert.Equal(expected, Tok512.Tokenizer.Encode(text, addSpecialTokens: false));

    [Fact]
    public void Newline_falls_back_to_byte_token_13() =>
        Assert.Equal([410, 13, 438, 310], Tok512.Tokenizer.Encode("\nLily", addSpecialTokens: false));

    [Fact]
    public void Empty_text_with_special_tokens_is_just_bos() =>
        Assert.Equal([1], Tok512.Tokenizer.Encode("", addSpecialTokens: true));

    [Fact]
    public void Character_outside_the_vocabulary_becomes_its_utf8_bytes()
    {
        var ids = Tok512.Tokenizer.Encode("ü", addSpecialTokens: false);
        Assert.Equal([410, Tok512.Byte(0xC3), Tok512.Byte(0xBC)], ids);
        var bytes = new List<byte>();
        foreach (var id in ids.AsSpan(1))
        {
            bytes.AddRange(Tok512.Tokenizer.GetTokenBytes(id).ToArray());
        }

        Assert.Equal("ü"u8.ToArray(), bytes);
    }

    [Fact]
    public void Emoji_becomes_four_byte_tokens() =>
        Assert.Equal(
            [410, Tok512.Byte(0xF0), Tok512.Byte(0x9F), Tok512.Byte(0x98), Tok512.Byte(0x80)],
            Tok512.Tokenizer.Encode("😀", addSpecialTokens: false));

    [Fact]
    public void Special_tokens_in_text_become_their_ids_and_each_text_stretch_gets_the_dummy_prefix()
    {
        Assert.Equal([1, 403, 2], Tok512.Tokenizer.Encode("<s>Once</s>", addSpecialTokens: false));
        Assert.Equal([403, 1, 403], Tok512.Tokenizer.Encode("Once<s>Once", addSpecialTokens: false));
        Assert.Equal([1, 1, 407], Tok512.Tokenizer.Encode("<s>upon", addSpecialTokens: true));
        Assert.Equal([0], Tok512.Tokenizer.Encode("<unk>", addSpecialTokens: false));
    }

    [Fact]
    public void Partial_special_token_text_is_ordinary_text() =>
        Assert.DoesNotContain(1, Tok512.Tokenizer.Encode("<s Once", addSpecialTokens: false));

    [Fact]
    public void Metadata_matches_llama2c()
    {
        var tokenizer = Tok512.Tokenizer;
        Assert.Equal(512, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal(2, tokenizer.EosId);
        Assert.True(tokenizer.AddBos);
        Assert.True(tokenizer.StripsLeadingSpace);
        Assert.True(tokenizer.IsSpecial(1));
        Assert.True(tokenizer.IsSpecial(2));
        Assert.False(tokenizer.IsSpecial(403));
        Assert.Equal("<s>", tokenizer.GetTokenText(1));
        Assert.Equal("\u2581Once", tokenizer.GetTokenText(403));
        Assert.Equal("<0x0A>", tokenizer.GetTokenText(13));
    }
}
