using System.Net;
using System.Text;
using System.Text.Json;

namespace Serving.Server.Tests.Operations;

/// <summary>SIGTERM during streaming: <c>/ready</c> turns 503, the streams finish or end with a clean abort inside the
/// drain timeout, and the process exits 0. Runs the real executable, since signals go to a process.</summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task Sigterm_DuringEightStreams_DrainsThenExitsZero()
    {
        using var server = await ServerProcess.StartAsync(["--drain-timeout", "3", "--kv-cache-tokens", "32768"]);
        var http = server.Http;
        var process = server.Process;

        // Four short streams (40 tokens) normally finish inside the 3-second drain and four long ones (2,000 tokens)
        // are normally aborted when it ends; how many of each depends on the machine's speed, so the test asserts only
        // that every stream ends cleanly one way or the other, in time.
        var streams = Enumerable.Range(0, 8).Select(i => StreamAsync(http, i < 4 ? 40 : 2000)).ToArray();
        await Task.WhenAll(streams.Select(s => s.Started));
        var terminated = System.Diagnostics.Stopwatch.StartNew();
        await server.TerminateAsync();

        var sawNotReady = false;
        while (!sawNotReady && !process.HasExited)
        {
            try
            {
                sawNotReady = (await http.GetAsync("/ready", TestContext.Current.CancellationToken)).StatusCode == HttpStatusCode.ServiceUnavailable;
            }
            catch (HttpRequestException)
            {
                break;
            }
        }

        var endings = await Task.WhenAll(streams.Select(s => s.Finish));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(sawNotReady, "/ready never answered 503 during the drain");
        Assert.All(endings, e => Assert.True(e is "length" or "stop" or "abort", $"a stream ended with {e}"));
        Assert.True(terminated.Elapsed < TimeSpan.FromSeconds(3 + 15), $"shutdown took {terminated.Elapsed}");
        Assert.Equal(0, process.ExitCode);
        Assert.DoesNotContain("[ERR]", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("[FTL]", server.Log, StringComparison.Ordinal);
    }

    private static (Task Started, Task<string?> Finish) StreamAsync(HttpClient http, int maxTokens)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<string?> RunAsync()
        {
            var body = $$"""{"prompt":"Once","max_tokens":{{maxTokens}},"ignore_eos":true,"stream":true}""";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
            string? finish = null;
            var done = false;
            while (await reader.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                started.TrySetResult();
                if (line == "data: [DONE]")
                {
                    done = true;
                    continue;
                }

                var choices = JsonDocument.Parse(line[6..]).RootElement.GetProperty("choices");
                if (choices.GetArrayLength() > 0 && choices[0].GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    finish = choices[0].GetProperty("finish_reason").GetString();
                }
            }

            return done ? finish : "no [DONE]";
        }

        return (started.Task, RunAsync());
    }
}
