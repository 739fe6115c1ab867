namespace Serving.Server.Tests.Benchmarks;

/// <summary>The k6 scripts (loadtests/k6) type-check against @types/k6 under strict TypeScript. k6 itself is not
/// installed here, so this is what keeps them from rotting; npm packages are installed from the lock file on first
/// use.</summary>
public sealed class K6ScriptTests
{
    [Fact]
    public async Task K6Scripts_TypeCheck()
    {
        var directory = NodeProcess.FindDirectory(Path.Combine("loadtests", "k6"));
        await NodeProcess.EnsureInstalledAsync(directory, Path.Combine("@types", "k6"));
        var (exit, output) = await NodeProcess.RunAsync(directory, "npx", ["--no-install", "tsc", "-p", "."], []);
        Assert.True(exit == 0, "tsc reported errors:\n" + output);
    }
}
