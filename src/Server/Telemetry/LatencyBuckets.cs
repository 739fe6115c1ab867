namespace Serving.Server.Telemetry;

/// <summary>
/// Histogram bucket boundaries for LLM latencies (seconds) and token counts. OpenTelemetry's defaults (0 to 10 s,
/// meant for web requests) would put a 30-second generation and a 3-minute one in the same bucket; these follow the
/// GenAI semantic conventions' advice and vLLM's choices: milliseconds for per-token times, up to minutes for whole
/// requests.
/// </summary>
internal static class LatencyBuckets
{
    /// <summary>Time to first token: prefill plus queueing, 1 ms to 40 min.</summary>
    public static readonly double[] TimeToFirstToken =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

    /// <summary>Time per output token and inter-token latency: 1 ms to 80 s.</summary>
    public static readonly double[] PerToken =
        [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

    /// <summary>Whole requests and queue time: 10 ms to 2 h.</summary>
    public static readonly double[] Request =
        [0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

    /// <summary>Engine steps: 0.5 ms to 10 s.</summary>
    public static readonly double[] Step =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Token counts per request or step (powers of four, as the GenAI conventions advise).</summary>
    public static readonly long[] Tokens =
        [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
}
