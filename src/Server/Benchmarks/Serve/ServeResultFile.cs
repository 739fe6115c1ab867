using System.Text.Json;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>
/// The JSON result file. Field names are stable and follow vLLM's result file where it has one (<c>completed</c>,
/// <c>request_throughput</c>, <c>mean_ttft_ms</c>, <c>p99_itl_ms</c>, …; <c>request_rate</c> is the string
/// <c>"inf"</c> for an unbounded rate, as there); latencies in milliseconds, durations in seconds, throughputs per
/// second. The API key is never written.
/// </summary>
internal static class ServeResultFile
{
    public static void Write(string path, ServeResult result)
    {
        using var file = File.Create(path);
        Write(file, result);
    }

    public static void Write(Stream stream, ServeResult result)
    {
        var s = result.Settings;
        var m = result.Metrics;
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("date", result.Date.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteString("backend", "serving");
        json.WriteString("base_url", s.BaseUrl.AbsoluteUri);
        json.WriteString("endpoint", s.Endpoint == ServeEndpoint.Chat ? "/v1/chat/completions" : "/v1/completions");
        json.WriteString("model_id", result.Model);
        json.WriteNumber("num_prompts", s.NumPrompts);
        if (double.IsPositiveInfinity(s.RequestRate))
        {
            json.WriteString("request_rate", "inf");
        }
        else
        {
            json.WriteNumber("request_rate", s.RequestRate);
        }

        WriteNullable(json, "max_concurrency", s.MaxConcurrency);
        json.WriteNumber("input_len", s.InputLength);
        json.WriteNumber("output_len", s.OutputLength);
        json.WriteNumber("seed", s.Seed);
        WriteNullable(json, "timeout_seconds", s.Timeout?.TotalSeconds);
        json.WriteStartObject("goodput_slos_ms");
        WriteNullable(json, "ttft", s.Objectives.TtftMs);
        WriteNullable(json, "tpot", s.Objectives.TpotMs);
        WriteNullable(json, "e2el", s.Objectives.E2elMs);
        json.WriteEndObject();
        json.WriteBoolean("timed_out", result.TimedOut);

        json.WriteNumber("duration", m.DurationSeconds);
        json.WriteNumber("completed", m.Completed);
        json.WriteNumber("failed", m.Failed);
        json.WriteNumber("total_input_tokens", m.TotalInputTokens);
        json.WriteNumber("total_output_tokens", m.TotalOutputTokens);
        json.WriteNumber("request_throughput", m.RequestThroughput);
        WriteNullable(json, "request_goodput", m.RequestGoodput);
        json.WriteNumber("input_throughput", m.InputThroughput);
        json.WriteNumber("output_throughput", m.OutputThroughput);
        json.WriteNumber("total_token_throughput", m.TotalTokenThroughput);
        WriteSummary(json, "ttft", m.TtftMs);
        WriteSummary(json, "tpot", m.TpotMs);
        WriteSummary(json, "itl", m.ItlMs);
        WriteSummary(json, "e2el", m.E2elMs);
        json.WriteStartArray("errors");
        foreach (var error in m.Errors)
        {
            json.WriteStringValue(error);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteSummary(Utf8JsonWriter json, string name, MetricSummary summary)
    {
        json.WriteNumber($"mean_{name}_ms", summary.Mean);
        json.WriteNumber($"median_{name}_ms", summary.Median);
        json.WriteNumber($"std_{name}_ms", summary.Std);
        json.WriteNumber($"p90_{name}_ms", summary.P90);
        json.WriteNumber($"p99_{name}_ms", summary.P99);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
