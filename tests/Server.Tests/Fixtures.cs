namespace Serving.Server.Tests;

/// <summary>Locates the real stories260K fixture in <c>shared/models</c> beside the repository; fails loudly when it
/// is missing (never skips).</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Directory = new(Find);

    public static string Stories260K => Directory.Value;

    /// <summary>llama2.c test_all.py's expected greedy output: 200 tokens from BOS.</summary>
    public const string Reference200 =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n" +
        "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find it.\"\n" +
        "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n" +
        "Lily didn't want to help her mom, so she";

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
