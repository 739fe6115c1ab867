using Serving.Kernels.Cpu;

namespace Serving.Kernels.Tests.Cpu;

public sealed class StreamPrefetchTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("auto", null)]
    [InlineData(" AUTO ", null)]
    [InlineData("on", true)]
    [InlineData("On", true)]
    [InlineData("off", false)]
    [InlineData("OFF\n", false)]
    public void Settings_parse_to_on_off_or_auto(string? setting, bool? expected) =>
        Assert.Equal(expected, StreamPrefetch.Parse(setting));

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("of")]
    public void Other_settings_are_an_error_naming_the_variable(string setting)
    {
        var error = Assert.Throws<ArgumentException>(() => StreamPrefetch.Parse(setting));
        Assert.Contains(StreamPrefetch.Variable, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{setting}'", error.Message, StringComparison.Ordinal);
    }
}
