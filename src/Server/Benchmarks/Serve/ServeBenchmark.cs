using System.Diagnostics;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>
/// <c>serving bench serve</c>: an open-loop load test of a running OpenAI-compatible server, after vLLM's
/// <c>vllm bench serve</c>. Requests are sent at Poisson arrival times (or all at once), at most
/// <see cref="ServeSettings.MaxConcurrency"/> in flight, each streamed and timed on the client. The run's timeout
/// cancels whatever is in flight or not yet sent; those requests count as failed and the metrics cover the rest.
/// </summary>
internal static class ServeBenchmark
{
    public static async Task<ServeResult> RunAsync(ServeSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        settings.Validate();
        using var http = ServerApi.CreateClient(settings.BaseUrl, settings.ApiKey);
        var model = settings.Model ?? await ServerApi.FirstModelAsync(http, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Preparing {Count} prompts of {Length} tokens for {Model} at {Url}", settings.NumPrompts, settings.InputLength, model, settings.BaseUrl);
        var prompts = await PromptFactory.CreateAsync(http, settings.Endpoint, model, settings.NumPrompts, settings.InputLength, settings.Seed, logger, cancellationToken).ConfigureAwait(false);
        var arrivals = ArrivalSchedule.Create(settings.NumPrompts, settings.RequestRate, settings.Seed);

        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (settings.Timeout is { } timeout)
        {
            run.CancelAfter(timeout);
        }

        using var gate = settings.MaxConcurrency is { } limit ? new SemaphoreSlim(limit) : null;
        var outcomes = new RequestOutcome[settings.NumPrompts];
        var tasks = new List<Task>(settings.NumPrompts);
        var progress = new Progress(settings.NumPrompts, logger);
        logger.LogInformation(
            "Sending {Count} requests to /{Endpoint} at {Rate} req/s, at most {Concurrency} in flight",
            settings.NumPrompts, settings.Endpoint == ServeEndpoint.Chat ? "v1/chat/completions" : "v1/completions", RateText(settings.RequestRate), settings.MaxConcurrency?.ToString() ?? "unlimited");
        async Task StoreAsync(int index) => outcomes[index] = await SendOneAsync(http, settings, model, prompts[index], gate, progress, run.Token).ConfigureAwait(false);

        var date = DateTimeOffset.UtcNow;
        var start = Stopwatch.GetTimestamp();
        var sent = 0;
        for (; sent < settings.NumPrompts; sent++)
        {
            var wait = arrivals[sent] - Stopwatch.GetElapsedTime(start).TotalSeconds;
            try
            {
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), run.Token).ConfigureAwait(false);
                }

                run.Token.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                break;
            }

            tasks.Add(StoreAsync(sent));
        }

        for (var i = sent; i < outcomes.Length; i++)
        {
            outcomes[i] = RequestOutcome.Failed("not sent: the run was cut short before its arrival time");
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        var duration = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var timedOut = run.IsCancellationRequested;
        if (timedOut)
        {
            logger.LogWarning("The run was cut short after {Seconds:F1} s; unfinished requests count as failed", duration);
        }

        return new ServeResult(settings with { Model = model }, model, date, timedOut, ServeMetrics.Compute(outcomes, duration, settings.Objectives));
    }

    public static string RateText(double rate) => double.IsPositiveInfinity(rate) ? "inf" : rate.ToString("G", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<RequestOutcome> SendOneAsync(HttpClient http, ServeSettings settings, string model, BenchmarkPrompt prompt, SemaphoreSlim? gate, Progress progress, CancellationToken cancellationToken)
    {
        if (gate is not null)
        {
            try
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return RequestOutcome.Failed("not sent: the run was cut short while it waited for a concurrency slot");
            }
        }

        try
        {
            var outcome = await StreamingRequest.SendAsync(http, settings.Endpoint, model, prompt, settings.OutputLength, cancellationToken).ConfigureAwait(false);
            progress.Report(outcome.Success);
            return outcome;
        }
        finally
        {
            gate?.Release();
        }
    }

    /// <summary>A line on stderr at every tenth of the run, so a long run shows it is alive.</summary>
    private sealed class Progress(int total, ILogger logger)
    {
        private readonly int _step = Math.Max(1, total / 10);
        private int _done;
        private int _failed;

        public void Report(bool success)
        {
            if (!success)
            {
                Interlocked.Increment(ref _failed);
            }

            var done = Interlocked.Increment(ref _done);
            if (done % _step == 0 || done == total)
            {
                logger.LogInformation("{Done}/{Total} requests finished ({Failed} failed)", done, total, Volatile.Read(ref _failed));
            }
        }
    }
}
