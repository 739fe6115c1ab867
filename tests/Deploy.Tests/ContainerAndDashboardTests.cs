using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;

namespace Serving.Deploy.Tests;

/// <summary>What can be checked of the Dockerfile, the compose stack and the dashboard without a Docker engine or a
/// Prometheus: the files they name exist, the wiring between them agrees, and every query uses a published metric.</summary>
public sealed partial class ContainerAndDashboardTests
{
    /// <summary>The server's Prometheus series (the metric list published with the telemetry work, docs/metrics.md):
    /// histograms with their _bucket/_sum/_count series, gauges and counters by their exposed names.</summary>
    private static readonly HashSet<string> PublishedMetrics = Expand(
        histograms:
        [
            "gen_ai_server_request_duration_seconds", "gen_ai_server_time_to_first_token_seconds",
            "gen_ai_server_time_per_output_token_seconds", "gen_ai_client_token_usage",
            "serving_engine_step_duration_seconds", "serving_engine_inter_token_latency_seconds",
            "serving_engine_request_queue_time_seconds",
        ],
        plain:
        [
            "serving_engine_requests_running", "serving_engine_requests_waiting", "serving_engine_kv_cache_usage_ratio",
            "serving_engine_preemptions_total", "serving_engine_tokens_generated_total", "serving_engine_tokens_prompt_total",
            "serving_engine_prefix_cache_queries_total", "serving_engine_prefix_cache_hits_total", "serving_requests_total",
        ]);

    [Fact]
    public void Dockerfile_CopySourcesExist_AndBothTargetsRunTheServer()
    {
        var lines = DockerfileInstructions();
        var copies = lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            var words = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
            if (words.Any(w => w.StartsWith("--from=", StringComparison.Ordinal)))
            {
                continue;
            }

            var sources = words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).SkipLast(1).ToList();
            Assert.NotEmpty(sources);
            foreach (var source in sources)
            {
                var path = DeployTools.Path(source.TrimEnd('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"Dockerfile copies {source}, which is not in the repository");
                Assert.False(DockerIgnored(source), $"Dockerfile copies {source}, which .dockerignore leaves out of the context");
            }
        }

        // The last stage is the default target: the CPU image on the ASP.NET runtime.
        var stages = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/aspnet:\S+ AS cpu$", stages[^1]);
        Assert.Contains(stages, s => s.EndsWith(" AS cuda", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("-p:OnnxRuntimeFlavor=Gpu", StringComparison.Ordinal));
        Assert.Contains("OnnxRuntimeFlavor", File.ReadAllText(DeployTools.Path("src", "Kernels", "Kernels.csproj")), StringComparison.Ordinal);

        // Each runtime stage: non-root, listening on all interfaces, on the exposed ports, running the published assembly.
        Assert.Contains("<AssemblyName>serving</AssemblyName>", File.ReadAllText(DeployTools.Path("src", "Server", "Server.csproj")), StringComparison.Ordinal);
        var runtimeStages = SplitStages(lines).Where(s => s[0].EndsWith(" AS cpu", StringComparison.Ordinal) || s[0].EndsWith(" AS cuda", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, runtimeStages.Count);
        foreach (var stage in runtimeStages)
        {
            Assert.Contains(@"ENTRYPOINT [""dotnet"", ""serving.dll"", ""serve""]", stage);
            Assert.Contains("EXPOSE 8000 8001", stage);
            Assert.Contains(stage, l => l.StartsWith("ENV ", StringComparison.Ordinal) && l.Contains("Serving__Host=0.0.0.0", StringComparison.Ordinal));
            var user = stage.Last(l => l.StartsWith("USER ", StringComparison.Ordinal));
            Assert.DoesNotMatch(@"^USER (root|0)(:|$)", user);
        }
    }

    [Fact]
    public void Compose_ReferencedFilesExist_AndPrometheusScrapesTheServer()
    {
        var compose = Yaml(DeployTools.Path("docker-compose.yml"));
        var services = (Dictionary<object, object>)CustomResource.Node(compose, "services");
        Assert.Equal(["grafana", "otel-collector", "prometheus", "server"], services.Keys.Cast<string>().Order());
        Assert.Equal(".", CustomResource.Node(services, "server", "build", "context"));
        Assert.True(File.Exists(DeployTools.Path("Dockerfile")));

        var mounted = new List<string>();
        foreach (var service in services.Values.Cast<Dictionary<object, object>>())
        {
            foreach (var volume in service.TryGetValue("volumes", out var list) ? (List<object>)list : [])
            {
                var source = ((string)volume).Split(':')[0];
                if (source.StartsWith("./", StringComparison.Ordinal))
                {
                    var path = DeployTools.Path(source[2..]);
                    Assert.True(File.Exists(path) || Directory.Exists(path), $"docker-compose.yml mounts {source}, which is not in the repository");
                    mounted.Add(source);
                }
            }
        }

        Assert.Contains("./deploy/grafana/serving-dashboard.json", mounted);

        // Prometheus scrapes the server's /metrics by its compose service name and HTTP port.
        var prometheus = Yaml(DeployTools.Path("deploy", "compose", "prometheus.yml"));
        var jobs = ((List<object>)CustomResource.Node(prometheus, "scrape_configs")).Cast<Dictionary<object, object>>().ToList();
        var serving = Assert.Single(jobs, j => (string)j["job_name"] == "serving");
        Assert.Equal("/metrics", serving["metrics_path"]);
        Assert.Equal("server:8000", CustomResource.Node(serving, "static_configs", 0, "targets", 0));
        Assert.Contains("8000:8000", ((List<object>)CustomResource.Node(services, "server", "ports")).Cast<string>());

        // The server exports OTLP to the collector service, whose pipelines use only receivers and exporters it defines.
        var endpoint = (string)CustomResource.Node(services, "server", "environment", "OTEL_EXPORTER_OTLP_ENDPOINT");
        Assert.Equal("http://otel-collector:4317", endpoint);
        var collector = Yaml(DeployTools.Path("deploy", "compose", "otel-collector.yaml"));
        var receivers = ((Dictionary<object, object>)collector["receivers"]).Keys;
        var exporters = ((Dictionary<object, object>)collector["exporters"]).Keys;
        var pipelines = (Dictionary<object, object>)CustomResource.Node(collector, "service", "pipelines");
        Assert.Contains("metrics", pipelines.Keys);
        foreach (var pipeline in pipelines.Values.Cast<Dictionary<object, object>>())
        {
            Assert.All((List<object>)pipeline["receivers"], r => Assert.Contains(r, receivers));
            Assert.All((List<object>)pipeline["exporters"], e => Assert.Contains(e, exporters));
        }

        Assert.Equal("http://prometheus:9090", CustomResource.Node(
            Yaml(DeployTools.Path("deploy", "compose", "grafana", "provisioning", "datasources", "prometheus.yml")), "datasources", 0, "url"));
        Assert.Equal("/var/lib/grafana/dashboards", CustomResource.Node(
            Yaml(DeployTools.Path("deploy", "compose", "grafana", "provisioning", "dashboards", "serving.yml")), "providers", 0, "options", "path"));
    }

    [Fact]
    public void Dashboard_EveryPanelQueriesPublishedMetrics()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DeployTools.Path("deploy", "grafana", "serving-dashboard.json")));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.True(panels.Count >= 10, $"only {panels.Count} panels");
        var used = new HashSet<string>();
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"panel {title} has no query");
            foreach (var target in targets)
            {
                var expr = target.GetProperty("expr").GetString()!;
                var metrics = MetricNames(expr);
                Assert.True(metrics.Count > 0, $"panel {title}: no metric in {expr}");
                foreach (var metric in metrics)
                {
                    Assert.True(PublishedMetrics.Contains(metric), $"panel {title} queries {metric}, which is not a published metric");
                    Assert.False(metric.EndsWith("_bucket", StringComparison.Ordinal) && !expr.Contains("histogram_quantile", StringComparison.Ordinal),
                        $"panel {title} reads buckets without histogram_quantile");
                    used.Add(metric);
                }
            }
        }

        // The views the issue asks for: TTFT and inter-token latency quantiles, throughput, finish reasons and errors,
        // the queue and the KV cache.
        foreach (var required in new[]
        {
            "gen_ai_server_time_to_first_token_seconds_bucket", "serving_engine_inter_token_latency_seconds_bucket",
            "serving_engine_tokens_generated_total", "serving_requests_total", "serving_engine_requests_waiting",
            "serving_engine_requests_running", "serving_engine_kv_cache_usage_ratio",
        })
        {
            Assert.Contains(required, used);
        }

        var quantiles = panels.SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!)
            .Where(e => e.Contains("gen_ai_server_time_to_first_token_seconds_bucket", StringComparison.Ordinal))
            .Select(e => QuantileRegex().Match(e).Groups[1].Value).Order().ToList();
        Assert.Equal(["0.5", "0.9", "0.99"], quantiles);

        // The chart ships the same file (a link into its folder, as Helm reads files only from inside the chart).
        Assert.Equal(
            File.ReadAllText(DeployTools.Path("deploy", "grafana", "serving-dashboard.json")),
            File.ReadAllText(DeployTools.Path("deploy", "helm", "serving", "dashboards", "serving-dashboard.json")));
    }

    [Fact]
    public void ValuesSchema_IsStrictJsonSchema_CoveringEveryValue()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(DeployTools.Path("deploy", "helm", "serving", "values.schema.json")));
        var values = Yaml(DeployTools.Path("deploy", "helm", "serving", "values.yaml"));
        AssertCovered(schema.RootElement, values, "values");
    }

    /// <summary>Every mapping in values.yaml is described by a closed object schema naming each of its keys.</summary>
    private static void AssertCovered(JsonElement schema, Dictionary<object, object> values, string path)
    {
        Assert.Equal("object", schema.GetProperty("type").GetString());
        Assert.True(schema.TryGetProperty("additionalProperties", out var additional), $"{path}: no additionalProperties");
        var properties = schema.GetProperty("properties");
        if (additional.ValueKind == JsonValueKind.False)
        {
            var declared = properties.EnumerateObject().Select(p => p.Name).Order().ToList();
            Assert.Equal(declared, values.Keys.Cast<string>().Order().ToList());
        }

        foreach (var (key, value) in values)
        {
            if (value is Dictionary<object, object> nested && properties.TryGetProperty((string)key, out var child)
                && child.TryGetProperty("properties", out _))
            {
                AssertCovered(child, nested, $"{path}.{key}");
            }
        }
    }

    private static HashSet<string> MetricNames(string expr)
    {
        // Label matchers, grouping clauses and Grafana variables name labels, not series.
        var stripped = GroupingRegex().Replace(MatcherRegex().Replace(expr, string.Empty), string.Empty);
        return IdentifierRegex().Matches(stripped).Select(m => m.Value)
            .Where(m => m.StartsWith("gen_ai_", StringComparison.Ordinal) || m.StartsWith("serving_", StringComparison.Ordinal))
            .ToHashSet();
    }

    private static HashSet<string> Expand(string[] histograms, string[] plain) =>
        [.. plain, .. histograms.SelectMany(h => new[] { h + "_bucket", h + "_sum", h + "_count" })];

    private static Dictionary<object, object> Yaml(string path) =>
        KubernetesYaml.Deserialize<Dictionary<object, object>>(File.ReadAllText(path), strict: true);

    /// <summary>Dockerfile instructions with continuation lines joined and comments dropped.</summary>
    private static List<string> DockerfileInstructions()
    {
        var text = File.ReadAllText(DeployTools.Path("Dockerfile"));
        var withoutComments = string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith('#')));
        return [.. ContinuationRegex().Replace(withoutComments, " ").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];
    }

    private static List<List<string>> SplitStages(List<string> lines)
    {
        var stages = new List<List<string>>();
        foreach (var line in lines)
        {
            if (line.StartsWith("FROM ", StringComparison.Ordinal))
            {
                stages.Add([]);
            }

            stages.LastOrDefault()?.Add(line);
        }

        return stages;
    }

    /// <summary>Whether a top-level .dockerignore pattern (a name or a folder, as this repository writes them) covers a
    /// path.</summary>
    private static bool DockerIgnored(string source)
    {
        var patterns = File.ReadAllLines(DeployTools.Path(".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));
        var top = source.TrimEnd('/').Split('/')[0];
        return patterns.Any(p => !p.Contains('*', StringComparison.Ordinal) && p.TrimEnd('/') == top);
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex MatcherRegex();

    [GeneratedRegex(@"\b(by|without)\s*\([^)]*\)")]
    private static partial Regex GroupingRegex();

    [GeneratedRegex(@"[A-Za-z_:][A-Za-z0-9_:]*")]
    private static partial Regex IdentifierRegex();

    [GeneratedRegex(@"histogram_quantile\(([0-9.]+)")]
    private static partial Regex QuantileRegex();

    [GeneratedRegex(@"\\\s*\n")]
    private static partial Regex ContinuationRegex();
}
