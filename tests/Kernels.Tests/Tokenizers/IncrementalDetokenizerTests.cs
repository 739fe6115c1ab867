using CsCheck;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Tests.Tokenizers;

public sealed class IncrementalDetokenizerTests
{
    private static readonly ITokenizer Tok512 = TokenizerFactory.Create(Llama2cTokenizerReader.Read(Fixtures.Tok512Path));

    /// <summary>Any token sequence (byte tokens included, so characters split across tokens and invalid UTF-8
    /// occur): the streamed pieces concatenate to the one-shot decode, and no piece ends inside a character.</summary>
    [Fact]
    public void Streamed_pieces_concatenate_to_the_one_shot_decode() =>
        Gen.Int[1, 511].Array[1, 40].Sample(ids =>
        {
            var detokenizer = new IncrementalDetokenizer(Tok512, atStartOfText: true);
            var pieces = ids.Select(detokenizer.Add).ToList();
            pieces.Add(detokenizer.Flush());
            Assert.Equal(Tok512.Decode(ids, skipSpecialTokens: true), string.Concat(pieces));
            Assert.All(pieces, p => Assert.False(p.Length > 0 && char.IsHighSurrogate(p[^1]), "a piece ends inside a surrogate pair"));
        }, iter: 2000);

    [Fact]
    public void A_character_split_over_byte_tokens_appears_once_complete()
    {
        // "é" is C3 A9: byte tokens <0xC3> (id 3 + 0xC3) and <0xA9>.
        var detokenizer = new IncrementalDetokenizer(Tok512, atStartOfText: false);
        Assert.Equal(string.Empty, detokenizer.Add(3 + 0xC3));
        Assert.Equal("é", detokenizer.Add(3 + 0xA9));
        Assert.Equal(string.Empty, detokenizer.Add(3 + 0xE2));
        Assert.Equal("\uFFFD", detokenizer.Flush());
    }

    [Fact]
    public void Continuations_keep_their_leading_space()
    {
        var start = new IncrementalDetokenizer(Tok512, atStartOfText: true);
        var continuation = new IncrementalDetokenizer(Tok512, atStartOfText: false);
        Assert.Equal("Once", start.Add(403));
        Assert.Equal(" Once", continuation.Add(403));
        Assert.Equal(" upon", start.Add(407));
    }
}
