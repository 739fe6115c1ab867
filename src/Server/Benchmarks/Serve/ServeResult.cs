namespace Serving.Server.Benchmarks.Serve;

/// <summary>A finished run: its settings, the model it ran against, when it started (UTC), whether the timeout or an
/// interrupt cut it short, and its metrics.</summary>
internal sealed record ServeResult(ServeSettings Settings, string Model, DateTimeOffset Date, bool TimedOut, ServeMetrics Metrics);
