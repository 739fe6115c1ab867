using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Tests.Tokenizers;

/// <summary>The stories260K tokenizer, read once for all tests.</summary>
internal static class Tok512
{
    private static readonly Lazy<ITokenizer> s_tokenizer =
        new(() => TokenizerFactory.Create(Llama2cTokenizerReader.Read(Fixtures.Tok512Path, 512)));

    public static ITokenizer Tokenizer => s_tokenizer.Value;

    /// <summary>The id of byte-fallback token &lt;0xNN&gt; (ids 3..258 in order).</summary>
    public static int Byte(int value) => 3 + value;
}
