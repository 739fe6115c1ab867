using Serving.Server.Models.HuggingFace;

namespace Serving.Server.Tests.HuggingFace;

public sealed class HuggingFaceReferenceTests
{
    [Theory]
    [InlineData("hf:meta-llama/Llama-3.2-1B", "meta-llama", "Llama-3.2-1B", null)]
    [InlineData("hf:TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", "TheBloke", "TinyLlama-1.1B-Chat-v1.0-GGUF", "tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf")]
    [InlineData("hf:a_b/c.d/sub dir/file.gguf", "a_b", "c.d", "sub dir/file.gguf")]
    public void Parse_ValidReferences(string spec, string owner, string repo, string? file)
    {
        var reference = HuggingFaceReference.Parse(spec);

        Assert.Equal(owner, reference.Owner);
        Assert.Equal(repo, reference.Repo);
        Assert.Equal(file, reference.FilePath);
        Assert.Equal(spec, reference.ToString());
    }

    [Theory]
    [InlineData("hf:owner/repo", true)]
    [InlineData("hf:", true)]
    [InlineData("/models/llama.gguf", false)]
    [InlineData("hf.gguf", false)]
    [InlineData(null, false)]
    public void IsReference_LooksOnlyAtThePrefix(string? spec, bool expected) =>
        Assert.Equal(expected, HuggingFaceReference.IsReference(spec));

    [Theory]
    [InlineData("\"abc\"", "abc")]
    [InlineData("W/\"abc\"", "abc")]
    [InlineData("abc", "abc")]
    public void NormalizeEtag_StripsQuotesAndWeakMarker(string raw, string expected) =>
        Assert.Equal(expected, HuggingFaceHubClient.NormalizeEtag(raw));
}
