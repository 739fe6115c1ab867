using System.Text.RegularExpressions;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Tests.Tokenizers;

public sealed class PreTokenizerPatternTests
{
    [Theory]
    [InlineData("llama3", "I'm fine", new[] { "I", "'m", " fine" })]
    [InlineData("llama3", "HE'LL GO", new[] { "HE", "'LL", " GO" })]
    [InlineData("llama3", "12345", new[] { "123", "45" })]
    [InlineData("llama3", "a  b", new[] { "a", " ", " b" })]
    [InlineData("llama3", "hi\n\nthere", new[] { "hi", "\n\n", "there" })]
    [InlineData("llama3", "x!!!\n", new[] { "x", "!!!\n" })]
    [InlineData("llama3", "(hello)", new[] { "(hello", ")" })]
    [InlineData("llama-bpe", "abc 1234", new[] { "abc", " ", "123", "4" })]
    [InlineData("qwen2", "12345", new[] { "1", "2", "3", "4", "5" })]
    [InlineData("gpt2", " 12345 HE'LL", new[] { " 12345", " HE", "'", "LL" })]
    [InlineData("gpt2", "a  b", new[] { "a", " ", " b" })]
    public void Splits_like_the_reference_pre_tokenizers(string family, string text, string[] expected)
    {
        var pieces = new List<string>();
        foreach (Match match in PreTokenizerPatterns.ForFamily(family).Matches(text))
        {
            pieces.Add(match.Value);
        }

        Assert.Equal(expected, pieces);
    }

    [Fact]
    public void Unknown_family_is_not_supported() =>
        Assert.Throws<NotSupportedException>(() => PreTokenizerPatterns.ForFamily("mystery"));
}
