using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Serving.Server.Tests.Api;

namespace Serving.Server.Tests.Operations;

/// <summary>Traffic, then a scrape of <c>/metrics</c>: the GenAI histograms count every request sent, and failures
/// show up under their error type.</summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task Histograms_CountEveryRequest_AndFailuresCarryTheirErrorType()
    {
        // A model name of its own keeps this server's series apart from other servers in the same test process.
        var model = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ServedModelName"] = model });
        var http = server.Http;
        await Sse.PostJsonAsync(http, "/v1/completions", $$"""{"model":"{{model}}","prompt":"Once","max_tokens":4,"temperature":0}""");
        await Sse.PostJsonAsync(http, "/v1/completions", $$"""{"model":"{{model}}","prompt":["Once","Lily"],"max_tokens":3}""");
        await Sse.PostAsync(http, "/v1/completions", $$"""{"model":"{{model}}","prompt":"Once","max_tokens":5,"stream":true}""");
        await Sse.PostJsonAsync(http, "/v1/chat/completions", $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}""");
        await Sse.PostAsync(http, "/v1/chat/completions", $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Hi"}],"max_tokens":6,"stream":true}""");
        await Sse.PostJsonAsync(http, "/v1/completions", $$"""{"model":"{{model}}","prompt":"Once","temperature":7}""", 400);

        var scrape = await http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

        Assert.Equal(5, Count(scrape, "gen_ai_server_time_to_first_token_seconds_count", model));
        Assert.Equal(5, Count(scrape, "gen_ai_server_time_per_output_token_seconds_count", model));
        Assert.Equal(6, Count(scrape, "gen_ai_server_request_duration_seconds_count", model));
        Assert.Equal(1, Count(scrape, "gen_ai_server_request_duration_seconds_count", model, "error_type=\"invalid_request_error\""));
        Assert.Equal(1, Count(scrape, "serving_requests_total", model, "error_type=\"invalid_request_error\""));
        Assert.Equal(5, Count(scrape, "serving_requests_total", model, "finish_reason=\"length\""));
        Assert.Equal(3, Count(scrape, "serving_requests_total", model, "gen_ai_operation_name=\"text_completion\"", "finish_reason"));
        Assert.Equal(10, Count(scrape, "gen_ai_client_token_usage_count", model));
        Assert.Contains("serving_engine_kv_cache_usage_ratio", scrape, StringComparison.Ordinal);
        Assert.Contains("serving_engine_requests_waiting", scrape, StringComparison.Ordinal);
        Assert.Contains("serving_engine_inter_token_latency_seconds_bucket", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcCalls_AreCountedLikeHttpRequests()
    {
        var model = "metrics-grpc-" + Guid.NewGuid().ToString("N")[..8];
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ServedModelName"] = model }, grpc: true);
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(server.GrpcAddress!);
        var client = new Contracts.V1.Serving.ServingClient(channel);
        await Grpc.GrpcCalls.GenerateAsync(client, Grpc.GrpcCalls.Text("Once", 4));
        await client.CompleteAsync(Grpc.GrpcCalls.Text("Once", 3), cancellationToken: TestContext.Current.CancellationToken);
        var bad = Grpc.GrpcCalls.Text("Once", 3);
        bad.Temperature = 9;
        bad.Model = model;
        await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => client.CompleteAsync(bad, cancellationToken: TestContext.Current.CancellationToken).ResponseAsync);

        var scrape = await server.Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

        Assert.Equal(2, Count(scrape, "gen_ai_server_time_to_first_token_seconds_count", model));
        Assert.Equal(2, Count(scrape, "serving_requests_total", model, "finish_reason=\"length\""));
        Assert.Equal(1, Count(scrape, "serving_requests_total", model, "error_type=\"invalid_request_error\""));
    }

    [Fact]
    public async Task MetricsAndProbes_StayOpen_WhenApiKeysAreOn()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ApiKeys:0"] = "sk-x" });
        using var metrics = await server.Http.GetAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    private static double Count(string scrape, string metric, string model, params string[] labels)
    {
        var total = 0.0;
        foreach (Match line in SeriesLine().Matches(scrape))
        {
            if (line.Groups["name"].Value != metric)
            {
                continue;
            }

            var labelText = line.Groups["labels"].Value;
            if (!labelText.Contains($"gen_ai_request_model=\"{model}\"", StringComparison.Ordinal) || !labels.All(l => labelText.Contains(l, StringComparison.Ordinal)))
            {
                continue;
            }

            total += double.Parse(line.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return total;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();
}
