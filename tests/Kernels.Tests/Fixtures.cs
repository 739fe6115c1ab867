namespace Serving.Kernels.Tests;

/// <summary>Locates the real model fixtures in <c>shared/models</c> above the test binaries. A missing fixture is
/// a broken checkout, so it fails loudly instead of skipping.</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> s_stories260K = new(() => FindUp(Path.Combine("shared", "models", "stories260K")));

    /// <summary>The stories260K folder (llama2.c checkpoint, tok512.bin, GGUF).</summary>
    public static string Stories260KDir => s_stories260K.Value;

    /// <summary>llama2.c's 512-token tokenizer for stories260K.</summary>
    public static string Tok512Path => Path.Combine(Stories260KDir, "tok512.bin");

    private static string FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"Fixture folder '{relative}' not found above {AppContext.BaseDirectory}; the shared fixtures are required.");
    }
}
