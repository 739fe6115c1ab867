using System.Diagnostics;
using System.Text;
using Serving.Scheduler.Engine;

namespace Serving.Server.Telemetry;

/// <summary>
/// One inference request's timing and outcome: created when an endpoint starts, told about the first token and the
/// end, and completed exactly once, as success (by the endpoint) or failure (by the error middleware). It records the
/// GenAI metrics and puts the request's events (queued, scheduled, first token, finished) and GenAI attributes on the
/// request's span (the ASP.NET Core server span, which honours an incoming W3C <c>traceparent</c>).
/// </summary>
internal sealed partial class RequestTelemetry
{
    private const string ItemName = "serving.telemetry";
    private readonly GenAiMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly Activity? _activity;
    private readonly ILogger _logger;
    private readonly bool _logPrompts;
    private readonly Dictionary<int, StringBuilder>? _outputs;
    private string? _prompt;
    private long _firstToken;
    private int _scheduled;
    private int _completed;

    private RequestTelemetry(GenAiMetrics metrics, TimeProvider time, string operation, Activity? activity, ILogger logger, bool logPrompts)
    {
        _logger = logger;
        _logPrompts = logPrompts;
        _outputs = logPrompts ? [] : null;
        _metrics = metrics;
        _time = time;
        _started = time.GetTimestamp();
        Operation = operation;
        _activity = activity;
        _activity?.SetTag("gen_ai.operation.name", operation);
    }

    public string Operation { get; }

    public string Model { get; private set; } = "unknown";

    public static RequestTelemetry Start(HttpContext context, GenAiMetrics metrics, TimeProvider time, string operation, ILogger logger, bool logPrompts)
    {
        var telemetry = new RequestTelemetry(metrics, time, operation, Activity.Current, logger, logPrompts);
        context.Items[ItemName] = telemetry;
        return telemetry;
    }

    public static RequestTelemetry? Of(HttpContext context) => context.Items.TryGetValue(ItemName, out var value) ? value as RequestTelemetry : null;

    /// <summary>The request named a model the server serves; failures from here on are recorded under it.</summary>
    public void ForModel(string model)
    {
        Model = model;
        _activity?.SetTag("gen_ai.request.model", model);
    }

    public void Admitted(string model, int promptTokens, int maxTokens, int n, IReadOnlyList<RequestHandle> handles)
    {
        ForModel(model);
        _activity?.SetTag("gen_ai.request.max_tokens", maxTokens);
        _activity?.SetTag("gen_ai.request.choice.count", n);
        _activity?.SetTag("gen_ai.usage.input_tokens", promptTokens);
        _activity?.AddEvent(new ActivityEvent("queued"));
        if (_activity is not null && handles.Count > 0)
        {
            handles[0].Scheduled.ContinueWith(
                _ => MarkScheduled(),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnRanToCompletion,
                TaskScheduler.Default);
        }
    }

    /// <summary>Whether prompts and outputs are logged (<see cref="Hosting.ServingOptions.LogPrompts"/>).</summary>
    public bool LogsPrompts => _logPrompts;

    /// <summary>The prompt text, kept only when prompt logging is on.</summary>
    public void Prompt(string text)
    {
        if (_logPrompts)
        {
            _prompt = text;
        }
    }

    public void Update(int choice, int tokens, string text)
    {
        if (_outputs is not null)
        {
            if (!_outputs.TryGetValue(choice, out var output))
            {
                _outputs[choice] = output = new StringBuilder();
            }

            output.Append(text);
        }

        Tokens(tokens);
    }

    private void Tokens(int count)
    {
        if (count > 0 && _firstToken == 0)
        {
            _firstToken = _time.GetTimestamp();

            // A token means the request was scheduled; the engine's signal may still be on its way to the pool.
            MarkScheduled();
            AddEvent(new ActivityEvent("first_token"));
        }
    }

    public void Completed(string id, string finishReason, int inputTokens, int outputTokens, int choices)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        var end = _time.GetTimestamp();
        double? ttft = _firstToken == 0 ? null : _time.GetElapsedTime(_started, _firstToken).TotalSeconds;

        // Per choice: the tokens after each choice's first are what the decode time was spent on.
        var perChoice = outputTokens / Math.Max(1, choices);
        double? tpot = ttft is { } first && perChoice > 1 ? (_time.GetElapsedTime(_started, end).TotalSeconds - first) / (perChoice - 1) : null;
        _metrics.Completed(Operation, Model, finishReason, _time.GetElapsedTime(_started, end).TotalSeconds, ttft, tpot, inputTokens, outputTokens);
        _activity?.SetTag("gen_ai.response.id", id);
        _activity?.SetTag("gen_ai.response.finish_reasons", finishReason);
        _activity?.SetTag("gen_ai.usage.output_tokens", outputTokens);
        AddEvent(new ActivityEvent("finished", tags: new ActivityTagsCollection { ["finish_reason"] = finishReason }));
        LogFinished(_logger, Operation, id, finishReason, inputTokens, outputTokens, _time.GetElapsedTime(_started, end).TotalMilliseconds);
        if (_outputs is not null)
        {
            foreach (var (choice, output) in _outputs)
            {
                LogContent(_logger, id, _prompt ?? string.Empty, choice, output.ToString());
            }
        }
    }

    public void Failed(string errorType, string message)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        _metrics.Failed(Operation, Model, errorType, _time.GetElapsedTime(_started).TotalSeconds);
        _activity?.SetTag("error.type", errorType);
        _activity?.SetStatus(ActivityStatusCode.Error, message);
        AddEvent(new ActivityEvent("failed", tags: new ActivityTagsCollection { ["error.type"] = errorType }));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Operation} {ResponseId} finished ({FinishReason}): {InputTokens} prompt + {OutputTokens} completion tokens in {Milliseconds:F0} ms")]
    private static partial void LogFinished(ILogger logger, string operation, string responseId, string finishReason, int inputTokens, int outputTokens, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{ResponseId} prompt {Prompt} → choice {Choice}: {Output}")]
    private static partial void LogContent(ILogger logger, string responseId, string prompt, int choice, string output);

    private void MarkScheduled()
    {
        if (Interlocked.Exchange(ref _scheduled, 1) == 0)
        {
            AddEvent(new ActivityEvent("scheduled"));
        }
    }

    /// <summary>Events come from the request's thread and, for "scheduled", from the engine's; an activity's event
    /// list is not thread-safe.</summary>
    private void AddEvent(ActivityEvent e)
    {
        if (_activity is not null)
        {
            lock (_activity)
            {
                _activity.AddEvent(e);
            }
        }
    }
}
