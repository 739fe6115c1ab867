namespace Serving.Kernels.Tests;

/// <summary>Locates the real model fixtures in <c>shared/models</c>, a sibling of the repository root. A missing
/// fixture is a broken checkout, so it fails loudly instead of skipping.</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Stories260KDirectory = new(FindStories260K);

    /// <summary>Directory holding stories260K.bin, stories260K.gguf and tok512.*.</summary>
    public static string Stories260K => Stories260KDirectory.Value;

    public static string Stories260KGguf => Path.Combine(Stories260K, "stories260K.gguf");

    public static string Stories260KBin => Path.Combine(Stories260K, "stories260K.bin");

    /// <summary>llama2.c's 512-token tokenizer for stories260K.</summary>
    public static string Tok512Path => Path.Combine(Stories260K, "tok512.bin");

    private static string FindStories260K()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "models", "stories260K");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        // Never skip: a silently skipped fixture test hides exactly the regressions these tests exist for.
        var where = Environment.GetEnvironmentVariable("CI") == "true" ? "on CI" : "locally";
        throw new InvalidOperationException(
            $"!!! FIXTURE MISSING {where}: no shared/models/stories260K found above {AppContext.BaseDirectory}. " +
            "Place the stories260K fixture folder (see SOURCE.md) in a 'shared' directory beside the repository root.");
    }
}
