namespace Serving.Server.Tests;

public sealed class CliSmokeTests
{
    [Fact]
    public async Task Help_exits_zero()
    {
        var code = await Serving.Server.Cli.CommandLine.RunAsync(["--help"]);
        Assert.Equal(0, code);
    }
}
