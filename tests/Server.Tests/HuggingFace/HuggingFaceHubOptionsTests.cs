using Serving.Server.Models.HuggingFace;

namespace Serving.Server.Tests.HuggingFace;

public sealed class HuggingFaceHubOptionsTests
{
    private static readonly string Home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    [Fact]
    public void FromEnvironment_Defaults()
    {
        var options = HuggingFaceHubOptions.FromEnvironment(Env(("HF_TOKEN_PATH", "/nonexistent/token")));

        Assert.Equal(new Uri("https://huggingface.co"), options.Endpoint);
        Assert.Equal(Path.Combine(Home, ".cache", "huggingface", "hub"), options.CacheDirectory);
        Assert.Null(options.Token);
        Assert.Equal("main", options.Revision);
        Assert.False(options.Offline);
    }

    [Fact]
    public void FromEnvironment_HubCacheWinsOverHfHome()
    {
        Assert.Equal("/c/hub-cache", HuggingFaceHubOptions.FromEnvironment(Env(("HF_HUB_CACHE", "/c/hub-cache"), ("HF_HOME", "/c/home"))).CacheDirectory);
        Assert.Equal(Path.Combine("/c/home", "hub"), HuggingFaceHubOptions.FromEnvironment(Env(("HF_HOME", "/c/home"))).CacheDirectory);
        Assert.Equal(Path.Combine("/xdg", "huggingface", "hub"), HuggingFaceHubOptions.FromEnvironment(Env(("XDG_CACHE_HOME", "/xdg"))).CacheDirectory);
        Assert.Equal(Home + "/hf", HuggingFaceHubOptions.FromEnvironment(Env(("HF_HUB_CACHE", "~/hf"))).CacheDirectory);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("0", false)]
    [InlineData("", false)]
    public void FromEnvironment_Offline(string value, bool expected) =>
        Assert.Equal(expected, HuggingFaceHubOptions.FromEnvironment(Env(("HF_HUB_OFFLINE", value))).Offline);

    [Fact]
    public void FromEnvironment_EndpointAndToken()
    {
        var options = HuggingFaceHubOptions.FromEnvironment(Env(("HF_ENDPOINT", "https://hf-mirror.example/"), ("HF_TOKEN", "hf_abc")));

        Assert.Equal(new Uri("https://hf-mirror.example"), options.Endpoint);
        Assert.Equal("hf_abc", options.Token);
        Assert.DoesNotContain("hf_abc", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void FromEnvironment_TokenFile()
    {
        var home = Path.Combine(Path.GetTempPath(), $"hf-home-{Guid.NewGuid():N}");
        Directory.CreateDirectory(home);
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "hf_from_file\n");
            Assert.Equal("hf_from_file", HuggingFaceHubOptions.FromEnvironment(Env(("HF_HOME", home))).Token);
            Assert.Equal("hf_env", HuggingFaceHubOptions.FromEnvironment(Env(("HF_HOME", home), ("HF_TOKEN", "hf_env"))).Token);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void FromEnvironment_BadEndpoint_Throws() =>
        Assert.Throws<ArgumentException>(() => HuggingFaceHubOptions.FromEnvironment(Env(("HF_ENDPOINT", "ftp://x"))));

    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }
}
