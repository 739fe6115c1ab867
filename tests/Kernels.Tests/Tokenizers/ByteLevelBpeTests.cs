using System.Text;
using CsCheck;

namespace Serving.Kernels.Tests.Tokenizers;

public sealed class ByteLevelBpeTests
{
    private static readonly string[] s_fragments =
    [
        "the", " the", "Hello", " world", "'s", "'ll", " 123", "4567", "  ", "\n", "\n\n", "\t", "!!", "?", "😀", "日本語",
        "é", "ü", " don't", "<|endoftext|>",
    ];

    private static readonly Gen<string> s_text = Gen.OneOf(
            Gen.Int[0, s_fragments.Length - 1].Select(i => s_fragments[i]),
            Gen.Int[0, 0x10FFFF].Where(cp => cp is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32),
            Gen.Char['a', 'z'].Array[1, 8].Select(c => new string(c)))
        .Array[0, 16].Select(parts => string.Concat(parts));

    [Theory]
    [InlineData("Hello world")]
    [InlineData("Once upon a time, there was a little girl named Lily.")]
    [InlineData("  leading and trailing spaces  ")]
    [InlineData("numbers 1234567 and 3.14159")]
    [InlineData("I'm sure they'll say it's fine; we've done it.")]
    [InlineData("日本語のテキストと emoji 😀🎉")]
    [InlineData("line one\nline two\r\n\ttabbed")]
    [InlineData("before<|endoftext|>after")]
    public void Matches_microsoft_ml_gpt2_on_known_text(string text) =>
        Assert.Equal(Gpt2Reference.Reference.EncodeToIds(text), Gpt2Reference.Ours.Encode(text, addSpecialTokens: true));

    [Fact]
    public void Matches_microsoft_ml_gpt2_on_generated_text() =>
        s_text.Sample(
            text => Assert.Equal(Gpt2Reference.Reference.EncodeToIds(text), Gpt2Reference.Ours.Encode(text, addSpecialTokens: false)),
            iter: 2000);

    [Fact]
    public void Round_trips_generated_text() =>
        s_text.Where(t => !t.Contains("<|endoftext|>", StringComparison.Ordinal)).Sample(
            text => Assert.Equal(text, Gpt2Reference.Ours.Decode(Gpt2Reference.Ours.Encode(text, addSpecialTokens: false), skipSpecialTokens: true)),
            iter: 2000);

    [Fact]
    public void Special_token_is_recognised_and_decoded_when_asked()
    {
        var ours = Gpt2Reference.Ours;
        var ids = ours.Encode("Hi<|endoftext|>", addSpecialTokens: false);
        Assert.Equal(50256, ids[^1]);
        Assert.True(ours.IsSpecial(50256));
        Assert.Equal("Hi", ours.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("Hi<|endoftext|>", ours.Decode(ids, skipSpecialTokens: false));
        Assert.False(ours.StripsLeadingSpace);
    }

    [Fact]
    public void Token_bytes_undo_the_byte_alphabet()
    {
        var ours = Gpt2Reference.Ours;
        var id = ours.Encode(" the", addSpecialTokens: false);
        Assert.Single(id);
        Assert.Equal("\u0120the", ours.GetTokenText(id[0]));
        Assert.Equal(" the"u8.ToArray(), ours.GetTokenBytes(id[0]).ToArray());
        var bytes = new List<byte>();
        foreach (var piece in ours.Encode("😀", addSpecialTokens: false))
        {
            bytes.AddRange(ours.GetTokenBytes(piece).ToArray());
        }

        Assert.Equal(Encoding.UTF8.GetBytes("😀"), bytes);
    }
}
