using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Serving.Server.Tests.Api;

/// <summary>A second real client nobody here wrote: the official <c>openai</c> npm package, run by Node against the
/// server (tests/node-client). Node and npm must be installed; the package is installed from the lock file on first
/// use.</summary>
public sealed class NodeClientTests(StoriesServerFixture fixture) : IClassFixture<StoriesServerFixture>
{
    [Fact]
    public async Task OfficialNodeClient_ChatAndCompletions_StreamingAndNot()
    {
        var directory = FindClientDirectory();
        if (!Directory.Exists(Path.Combine(directory, "node_modules", "openai")))
        {
            var (code, output) = await RunAsync(directory, "npm", ["ci", "--no-audit", "--no-fund"], []);
            Assert.True(code == 0, "npm ci failed: " + output);
        }

        var environment = new Dictionary<string, string>
        {
            ["OPENAI_BASE_URL"] = new Uri(fixture.Server.BaseAddress, "/v1").ToString(),
            ["OPENAI_API_KEY"] = "unused",
            ["SERVING_MODEL"] = "stories260K.gguf",
        };
        var (exit, stdout) = await RunAsync(directory, "node", ["openai-client.mjs"], environment);
        Assert.True(exit == 0, "the node client failed: " + stdout);
        var results = JsonDocument.Parse(stdout).RootElement;

        foreach (var name in new[] { "completion", "completionStream" })
        {
            var result = results.GetProperty(name);
            Assert.Equal(Fixtures.Reference200, result.GetProperty("text").GetString());
            Assert.Equal("length", result.GetProperty("finish").GetString());
            Assert.Equal(200, result.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal(1, result.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }

        var chat = results.GetProperty("chat");
        var chatStream = results.GetProperty("chatStream");
        Assert.Equal("assistant", chat.GetProperty("role").GetString());
        Assert.Equal("assistant", chatStream.GetProperty("role").GetString());
        Assert.False(string.IsNullOrEmpty(chat.GetProperty("text").GetString()));
        Assert.Equal(chat.GetProperty("text").GetString(), chatStream.GetProperty("text").GetString());
        Assert.Equal(chat.GetProperty("finish").GetString(), chatStream.GetProperty("finish").GetString());
        Assert.Equal(chat.GetProperty("usage").ToString(), chatStream.GetProperty("usage").ToString());

        var bad = results.GetProperty("badRequest");
        Assert.Equal(400, bad.GetProperty("status").GetInt32());
        Assert.Equal("temperature", bad.GetProperty("param").GetString());
        Assert.Equal(["stories260K.gguf"], results.GetProperty("models").EnumerateArray().Select(m => m.GetString()!).ToArray());
    }

    private static string FindClientDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "node-client");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"tests/node-client not found above {AppContext.BaseDirectory}");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string directory, string program, string[] args, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} could not be started; Node.js and npm are required");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + (process.ExitCode == 0 ? string.Empty : "\n" + await stderr));
    }
}
