using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Serving.Server.Tests.Operations;

/// <summary>The real <c>serving serve</c> executable as a child process (for signals, environment variables and the
/// process's own log output), on a port it picks and logs.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log;

    private ServerProcess(Process process, Uri address, StringBuilder log)
    {
        _process = process;
        _log = log;
        Address = address;
        Http = new HttpClient { BaseAddress = address };
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public Process Process => _process;

    /// <summary>Everything the server wrote to stderr so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<ServerProcess> StartAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "serving.dll"));
        start.ArgumentList.Add("serve");
        if (!args.Contains("--model"))
        {
            start.ArgumentList.Add("--model");
            start.ArgumentList.Add(Path.Combine(Fixtures.Stories260K, "stories260K.gguf"));
        }

        start.ArgumentList.Add("--port");
        start.ArgumentList.Add("0");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var log = new StringBuilder();
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                address.TrySetException(new InvalidOperationException("the server exited before listening:\n" + log));
                return;
            }

            lock (log)
            {
                log.AppendLine(e.Data);
            }

            // Text and JSON logs both hold "Listening on <url>" (JSON quotes the url).
            var match = Regex.Match(e.Data, @"Listening on \W*(http://[0-9a-zA-Z.:\[\]]+)");
            if (match.Success)
            {
                address.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        ServerProcess? server = null;
        try
        {
            server = new ServerProcess(process, await address.Task.WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken), log);
            while (!await IsReadyAsync(server))
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            return server;
        }
        catch
        {
            if (server is not null)
            {
                server.Dispose();
            }
            else
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                process.Dispose();
            }

            throw;
        }
    }

    private static async Task<bool> IsReadyAsync(ServerProcess server)
    {
        if (server._process.HasExited)
        {
            throw new InvalidOperationException($"the server exited with {server._process.ExitCode} before it was ready:\n{server.Log}");
        }

        try
        {
            return (await server.Http.GetAsync("/ready", TestContext.Current.CancellationToken)).StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public async Task TerminateAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    public void Dispose()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
