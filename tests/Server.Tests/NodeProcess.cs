using System.Diagnostics;
using System.Text;

namespace Serving.Server.Tests;

/// <summary>Runs Node.js tools (node, npm, npx) for the checks that use npm packages: the official openai client and
/// the k6 scripts' type check. Node and npm must be installed.</summary>
internal static class NodeProcess
{
    /// <summary>The repository directory <paramref name="relative"/> (identified by its package.json), found above
    /// the test binaries.</summary>
    public static string FindDirectory(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Installs the directory's packages from its lock file unless <paramref name="marker"/> (a path under
    /// node_modules) shows they already are.</summary>
    public static async Task EnsureInstalledAsync(string directory, string marker)
    {
        if (!Path.Exists(Path.Combine(directory, "node_modules", marker)))
        {
            var (code, output) = await RunAsync(directory, "npm", ["ci", "--no-audit", "--no-fund"], []);
            Assert.True(code == 0, "npm ci failed: " + output);
        }
    }

    /// <summary>Runs <paramref name="program"/>; returns its exit code and stdout (with stderr appended when it
    /// failed).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string directory, string program, string[] args, Dictionary<string, string> environment)
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
