namespace Serving.Scheduler.Tests;

/// <summary>Locates the real stories260K fixture in <c>shared/models</c> beside the repository; fails loudly when it
/// is missing (never skips).</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Directory = new(Find);

    public static string Stories260KGguf => Path.Combine(Directory.Value, "stories260K.gguf");

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "models", "stories260K");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"!!! FIXTURE MISSING (CI={Environment.GetEnvironmentVariable("CI")}): no shared/models/stories260K above {AppContext.BaseDirectory}");
    }
}
