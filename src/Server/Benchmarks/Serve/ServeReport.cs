using System.Globalization;
using System.Text;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>The human-readable result table (stdout), laid out like vLLM's so the two can be read side by side.</summary>
internal static class ServeReport
{
    private const int Width = 50;

    public static string Format(ServeResult result)
    {
        var m = result.Metrics;
        var s = result.Settings;
        var text = new StringBuilder();
        text.AppendLine(Center(" Serving Benchmark Result ", '='));
        Line(text, "Endpoint:", s.Endpoint == ServeEndpoint.Chat ? "/v1/chat/completions" : "/v1/completions");
        Line(text, "Model:", result.Model);
        Line(text, "Successful requests:", m.Completed.ToString(CultureInfo.InvariantCulture));
        Line(text, "Failed requests:", m.Failed.ToString(CultureInfo.InvariantCulture));
        Line(text, "Request rate configured (RPS):", ServeBenchmark.RateText(s.RequestRate));
        Line(text, "Maximum request concurrency:", s.MaxConcurrency?.ToString(CultureInfo.InvariantCulture) ?? "unlimited");
        if (result.TimedOut)
        {
            Line(text, "Cut short (timeout or interrupt):", "yes");
        }

        Line(text, "Benchmark duration (s):", Number(m.DurationSeconds));
        Line(text, "Total input tokens:", m.TotalInputTokens.ToString(CultureInfo.InvariantCulture));
        Line(text, "Total generated tokens:", m.TotalOutputTokens.ToString(CultureInfo.InvariantCulture));
        Line(text, "Request throughput (req/s):", Number(m.RequestThroughput));
        if (m.RequestGoodput is { } goodput)
        {
            Line(text, "Request goodput (req/s):", Number(goodput));
        }

        Line(text, "Input token throughput (tok/s):", Number(m.InputThroughput));
        Line(text, "Output token throughput (tok/s):", Number(m.OutputThroughput));
        Line(text, "Total token throughput (tok/s):", Number(m.TotalTokenThroughput));
        Metric(text, "Time to First Token", "TTFT", m.TtftMs);
        Metric(text, "Time per Output Token (excl. 1st token)", "TPOT", m.TpotMs);
        Metric(text, "Inter-token Latency", "ITL", m.ItlMs);
        Metric(text, "End-to-end Latency", "E2EL", m.E2elMs);
        if (m.Errors.Count > 0)
        {
            text.AppendLine(Center("First errors", '-'));
            foreach (var error in m.Errors)
            {
                text.AppendLine(error.ReplaceLineEndings(" "));
            }
        }

        text.AppendLine(new string('=', Width));
        return text.ToString();
    }

    private static void Metric(StringBuilder text, string header, string name, MetricSummary summary)
    {
        text.AppendLine(Center(header, '-'));
        Line(text, $"Mean {name} (ms):", Number(summary.Mean));
        Line(text, $"Median {name} (ms):", Number(summary.Median));
        Line(text, $"Std {name} (ms):", Number(summary.Std));
        Line(text, $"P90 {name} (ms):", Number(summary.P90));
        Line(text, $"P99 {name} (ms):", Number(summary.P99));
    }

    private static void Line(StringBuilder text, string label, string value) => text.Append(label.PadRight(40)).Append(' ').AppendLine(value);

    private static string Number(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    private static string Center(string title, char fill)
    {
        var left = Math.Max(0, (Width - title.Length) / 2);
        return new string(fill, left) + title + new string(fill, Math.Max(0, Width - left - title.Length));
    }
}
