using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Serving.Server.Benchmarks.Serve;

namespace Serving.Server.Cli;

/// <summary><c>serving bench serve</c>: load-tests a running server over HTTP (see <see cref="ServeBenchmark"/>).
/// The result table goes to stdout, progress and errors to stderr. The exit code is 0 whenever the run itself
/// happened, failed requests included (they are part of what is measured); 1 when it could not start.</summary>
internal static class BenchServeCommand
{
    public static Command Create()
    {
        var baseUrl = new Option<string>("--base-url") { Description = "Server root (without /v1)", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var prompts = new Option<int>("--num-prompts") { Description = "Requests to send", DefaultValueFactory = _ => 100 };
        var rate = new Option<string>("--request-rate") { Description = "Poisson arrival rate in requests per second, or inf to send all at once", DefaultValueFactory = _ => "inf" };
        var concurrency = new Option<int?>("--max-concurrency") { Description = "Most requests in flight; omitted: unlimited" };
        var input = new Option<int>("--input-len") { Description = "Prompt tokens per request, as the server counts them", DefaultValueFactory = _ => 128 };
        var output = new Option<int>("--output-len") { Description = "Generated tokens per request (ignore_eos)", DefaultValueFactory = _ => 64 };
        var endpoint = new Option<ServeEndpoint>("--endpoint") { Description = "completions (token-id prompts) or chat (one user message)", DefaultValueFactory = _ => ServeEndpoint.Completions };
        var model = new Option<string?>("--model") { Description = "Model name to request; omitted: the first of /v1/models" };
        var seed = new Option<int>("--seed") { Description = "Seed of the prompts and arrival times", DefaultValueFactory = _ => 0 };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer API key" };
        var goodput = new Option<string[]>("--goodput") { Description = "Service level objectives for goodput, e.g. ttft:500 tpot:50 e2el:10000 (milliseconds)", AllowMultipleArgumentsPerToken = true };
        var resultFile = new Option<string?>("--result-file") { Description = "Where to write the JSON result" };
        var timeout = new Option<double?>("--timeout-seconds") { Description = "Abort the run after this long; unfinished requests count as failed" };
        var command = new Command("serve", "Load-test a running OpenAI-compatible server: Poisson arrivals, streamed requests, TTFT/TPOT/ITL/E2E latency, throughput and goodput (after vLLM's bench serve)")
        {
            baseUrl, prompts, rate, concurrency, input, output, endpoint, model, seed, apiKey, goodput, resultFile, timeout,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            using var logging = CliLogging.Create(verbose: false);
            var logger = logging.CreateLogger("bench");
            try
            {
                var settings = new ServeSettings(
                    ParseUrl(result.GetValue(baseUrl)!),
                    result.GetValue(prompts),
                    ParseRate(result.GetValue(rate)!),
                    result.GetValue(concurrency),
                    result.GetValue(input),
                    result.GetValue(output),
                    result.GetValue(endpoint),
                    result.GetValue(model),
                    result.GetValue(seed),
                    result.GetValue(apiKey),
                    ServiceLevelObjectives.Parse(result.GetValue(goodput) ?? []),
                    result.GetValue(timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null);
                settings.Validate();
                var run = await ServeBenchmark.RunAsync(settings, logger, cancellationToken);
                Console.Write(ServeReport.Format(run));
                if (result.GetValue(resultFile) is { } path)
                {
                    ServeResultFile.Write(path, run);
                    logger.LogInformation("Result written to {Path}", path);
                }

                return 0;
            }
            catch (Exception e) when (e is ArgumentException or HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or IOException or OperationCanceledException)
            {
                logger.LogError("{Message}", e.Message);
                return 1;
            }
        });
        return command;
    }

    private static Uri ParseUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new ArgumentException($"--base-url must be an absolute http(s) URL, got '{text}'");

    private static double ParseRate(string text) =>
        text.Equals("inf", StringComparison.OrdinalIgnoreCase) ? double.PositiveInfinity
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0 && double.IsFinite(rate) ? rate
        : throw new ArgumentException($"--request-rate must be a positive number or inf, got '{text}'");
}
