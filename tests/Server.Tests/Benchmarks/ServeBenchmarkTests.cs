using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Serving.Server.Benchmarks.Serve;
using Serving.Server.Tests.Api;

namespace Serving.Server.Tests.Benchmarks;

/// <summary><c>serving bench serve</c> against the real server on loopback (stories260K).</summary>
public sealed class ServeBenchmarkTests(StoriesServerFixture fixture) : IClassFixture<StoriesServerFixture>
{
    private const int InputLength = 32;
    private const int OutputLength = 16;

    private ServeSettings Settings(int prompts, double rate, int? concurrency, ServeEndpoint endpoint = ServeEndpoint.Completions, int input = InputLength, int output = OutputLength, TimeSpan? timeout = null) =>
        new(fixture.Server.BaseAddress, prompts, rate, concurrency, input, output, endpoint, null, 3, null, ServiceLevelObjectives.Parse(["ttft:60000", "tpot:60000"]), timeout);

    [Fact]
    public async Task SixtyFourRequests_Concurrency16_AllComplete_WithExactTokenCounts_AndAWellFormedResultFile()
    {
        var result = await ServeBenchmark.RunAsync(Settings(64, double.PositiveInfinity, 16), NullLogger.Instance, TestContext.Current.CancellationToken);
        var path = Path.Combine(Path.GetTempPath(), $"bench-serve-{Guid.NewGuid():N}.json");
        try
        {
            ServeResultFile.Write(path, result);
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
            var json = document.RootElement;
            Assert.True(json.GetProperty("failed").GetInt32() == 0, string.Join("\n", result.Metrics.Errors));
            Assert.Equal(64, json.GetProperty("completed").GetInt32());
            Assert.Equal(64 * InputLength, json.GetProperty("total_input_tokens").GetInt64());
            Assert.Equal(64 * OutputLength, json.GetProperty("total_output_tokens").GetInt64());
            Assert.Equal("inf", json.GetProperty("request_rate").GetString());
            Assert.Equal(16, json.GetProperty("max_concurrency").GetInt32());
            Assert.Equal("stories260K.gguf", json.GetProperty("model_id").GetString());
            Assert.False(json.GetProperty("timed_out").GetBoolean());
            Assert.Empty(json.GetProperty("errors").EnumerateArray());
            Assert.True(DateTimeOffset.TryParse(json.GetProperty("date").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));

            var duration = json.GetProperty("duration").GetDouble();
            Assert.True(duration > 0);
            Assert.Equal(64 / duration, json.GetProperty("request_throughput").GetDouble(), 6);
            Assert.Equal(64 / duration, json.GetProperty("request_goodput").GetDouble(), 6);
            Assert.Equal(64 * OutputLength / duration, json.GetProperty("output_throughput").GetDouble(), 6);
            Assert.Equal(64 * (InputLength + OutputLength) / duration, json.GetProperty("total_token_throughput").GetDouble(), 6);
            foreach (var metric in new[] { "ttft", "tpot", "itl", "e2el" })
            {
                var mean = json.GetProperty($"mean_{metric}_ms").GetDouble();
                var median = json.GetProperty($"median_{metric}_ms").GetDouble();
                var p90 = json.GetProperty($"p90_{metric}_ms").GetDouble();
                var p99 = json.GetProperty($"p99_{metric}_ms").GetDouble();
                Assert.True(mean > 0 && median > 0 && median <= p90 && p90 <= p99 && json.GetProperty($"std_{metric}_ms").GetDouble() >= 0, metric);
            }

            // Every request's first token comes before its end, and the end before the run's.
            Assert.True(json.GetProperty("p99_ttft_ms").GetDouble() <= json.GetProperty("p99_e2el_ms").GetDouble());
            Assert.True(json.GetProperty("p99_e2el_ms").GetDouble() <= duration * 1000);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Timeout_CutsTheRunShort_UnfinishedRequestsCountAsFailed()
    {
        // 4 req/s for 20 requests spans five seconds; the one-second timeout leaves most of them unsent.
        var result = await ServeBenchmark.RunAsync(Settings(20, 4, null, output: 200, timeout: TimeSpan.FromSeconds(1)), NullLogger.Instance, TestContext.Current.CancellationToken);
        Assert.True(result.TimedOut);
        Assert.Equal(20, result.Metrics.Completed + result.Metrics.Failed);
        Assert.True(result.Metrics.Failed >= 10, $"{result.Metrics.Failed} failed");
        Assert.True(result.Metrics.DurationSeconds < 10);
        Assert.Contains(result.Metrics.Errors, e => e.StartsWith("not sent", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RefusedRequests_AreCountedAndReported_NotThrown()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["MaxConcurrentStreamsPerKey"] = "1" });
        var settings = Settings(4, double.PositiveInfinity, null, output: 300) with { BaseUrl = server.BaseAddress };
        var result = await ServeBenchmark.RunAsync(settings, NullLogger.Instance, TestContext.Current.CancellationToken);
        Assert.True(result.Metrics.Completed >= 1);
        Assert.True(result.Metrics.Failed >= 1);
        Assert.Equal(4, result.Metrics.Completed + result.Metrics.Failed);
        Assert.All(result.Metrics.Errors, e => Assert.StartsWith("HTTP 429", e, StringComparison.Ordinal));
        Assert.Equal(result.Metrics.Completed * 300L, result.Metrics.TotalOutputTokens);
    }

    [Fact]
    public async Task Cli_ChatEndpoint_PrintsTheTable_AndWritesTheResultFile()
    {
        // The stories260K chat template renders 40 tokens around an empty message, so 64 leaves room for one.
        var path = Path.Combine(Path.GetTempPath(), $"bench-serve-cli-{Guid.NewGuid():N}.json");
        try
        {
            var (exit, stdout, stderr) = await ServingProcess.RunAsync(
                "bench", "serve", "--base-url", fixture.Server.BaseAddress.ToString(), "--endpoint", "chat", "--num-prompts", "8",
                "--request-rate", "50", "--max-concurrency", "4", "--input-len", "64", "--output-len", "8", "--seed", "5",
                "--goodput", "ttft:60000", "e2el:60000", "--result-file", path);
            Assert.True(exit == 0, stderr);
            Assert.Contains("Serving Benchmark Result", stdout);
            Assert.Matches(@"Successful requests:\s+8\n", stdout);
            Assert.Matches(@"Failed requests:\s+0\n", stdout);
            Assert.Matches(@"Request goodput \(req/s\):\s+\d", stdout);
            Assert.DoesNotContain("[", stdout);
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
            var json = document.RootElement;
            Assert.Equal("/v1/chat/completions", json.GetProperty("endpoint").GetString());
            Assert.Equal(8 * 64, json.GetProperty("total_input_tokens").GetInt64());
            Assert.Equal(8 * 8, json.GetProperty("total_output_tokens").GetInt64());
            Assert.Equal(50, json.GetProperty("request_rate").GetDouble());
            Assert.Equal(60000, json.GetProperty("goodput_slos_ms").GetProperty("e2el").GetDouble());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Cli_UnreachableServer_ExitsWithOne_AndAMessage()
    {
        var (exit, stdout, stderr) = await ServingProcess.RunAsync("bench", "serve", "--base-url", "http://127.0.0.1:1", "--num-prompts", "2");
        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Contains("ERR", stderr);
    }
}
