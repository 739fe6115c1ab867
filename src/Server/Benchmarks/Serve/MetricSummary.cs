namespace Serving.Server.Benchmarks.Serve;

/// <summary>One latency metric over a run, in milliseconds.</summary>
internal readonly record struct MetricSummary(double Mean, double Median, double Std, double P90, double P99);
