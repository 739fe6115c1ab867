namespace Serving.Server.Tests.Cli;

/// <summary><c>serving generate</c> end to end, as a script would run it.</summary>
public sealed class GenerateCommandTests
{
    [Theory]
    [InlineData("stories260K.gguf")]
    [InlineData("stories260K.bin")]
    public async Task Greedy_from_bos_reproduces_llama2c(string file)
    {
        var (code, stdout, stderr) = await ServingProcess.RunAsync(
            "generate", "--model", Path.Combine(Fixtures.Stories260K, file), "--max-tokens", "200", "--temperature", "0");
        Assert.True(code == 0, stderr);
        Assert.Equal(Fixtures.Reference200, stdout);
    }

    /// <summary>run.c's <c>-n 200</c> samples 200 tokens after BOS; 199 tokens stop one token (" she") earlier.</summary>
    [Fact]
    public async Task Max_tokens_counts_generated_tokens()
    {
        var (code, stdout, stderr) = await ServingProcess.RunAsync(
            "generate", "--model", Path.Combine(Fixtures.Stories260K, "stories260K.gguf"), "--max-tokens", "199", "--temperature", "0");
        Assert.True(code == 0, stderr);
        Assert.Equal(Fixtures.Reference200[..^" she".Length], stdout);
    }

    [Fact]
    public async Task Continuation_keeps_its_leading_text_and_matches_reference()
    {
        var (code, stdout, stderr) = await ServingProcess.RunAsync(
            "generate", "--model", Path.Combine(Fixtures.Stories260K, "stories260K.bin"), "--prompt", "Once upon a time", "--max-tokens", "60", "--temperature", "0");
        Assert.True(code == 0, stderr);
        Assert.StartsWith(", there was a little girl named Lily.", stdout, StringComparison.Ordinal);
        Assert.StartsWith(stdout, Fixtures.Reference200["Once upon a time".Length..], StringComparison.Ordinal);
        Assert.EndsWith("\nLily", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible()
    {
        string[] args = ["generate", "--model", Path.Combine(Fixtures.Stories260K, "stories260K.gguf"), "--max-tokens", "40", "--temperature", "1", "--top-p", "0.9", "--seed", "133742"];
        var first = await ServingProcess.RunAsync(args);
        var second = await ServingProcess.RunAsync(args);
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.StdOut, second.StdOut);
        Assert.NotEmpty(first.StdOut);
    }

    [Fact]
    public async Task Without_model_uses_demo_model_and_says_so()
    {
        var (code, stdout, stderr) = await ServingProcess.RunAsync("generate", "--max-tokens", "16", "--seed", "1");
        Assert.Equal(0, code);
        Assert.NotEmpty(stdout);
        Assert.Contains("demo model", stderr, StringComparison.Ordinal);
        Assert.Contains("--model", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kv_cache_dtype_is_chosen_or_refused_clearly()
    {
        var f16 = await ServingProcess.RunAsync("generate", "--max-tokens", "8", "--seed", "1", "--kv-cache-dtype", "f16");
        Assert.True(f16.ExitCode == 0, f16.StdErr);
        Assert.NotEmpty(f16.StdOut);
        var bad = await ServingProcess.RunAsync("generate", "--max-tokens", "8", "--kv-cache-dtype", "fp8");
        Assert.Equal(1, bad.ExitCode);
        Assert.Empty(bad.StdOut);
        Assert.Contains("the KV cache dtype must be auto, f32 or f16, not 'fp8'", bad.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_model_is_a_clear_error()
    {
        var (code, stdout, stderr) = await ServingProcess.RunAsync("generate", "--model", "/nonexistent/model.gguf");
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Contains("model not found: /nonexistent/model.gguf", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Corrupt_model_is_a_clear_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"corrupt-{Guid.NewGuid():N}.gguf");
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Fixtures.Stories260K, "stories260K.gguf"), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(path, bytes.AsSpan(0, bytes.Length / 2).ToArray(), TestContext.Current.CancellationToken);
        try
        {
            var (code, _, stderr) = await ServingProcess.RunAsync("generate", "--model", path);
            Assert.Equal(1, code);
            Assert.Contains(Path.GetFileName(path), stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
