using Serving.Server.Benchmarks.Serve;

namespace Serving.Server.Benchmarks;

/// <summary>Single-stream speed of one model with the machine's ceilings measured in the same run, interleaved with
/// the measured work (bandwidth and compute on these shared machines drift by 2× within minutes).</summary>
internal sealed record LatencyResult
{
    public required string Model { get; init; }

    public required double LoadSeconds { get; init; }

    public required int PromptTokens { get; init; }

    public required int GeneratedTokens { get; init; }

    public required double PromptTokensPerSecond { get; init; }

    public required double DecodeTokensPerSecond { get; init; }

    /// <summary>Bytes of weights read to decode one token (every matrix once; one embedding row is negligible).</summary>
    public required long WeightBytesPerToken { get; init; }

    /// <summary>Parameters multiplied per token (matrices only).</summary>
    public required long MatrixParameters { get; init; }

    /// <summary>Read bandwidth measured around each decode round, bytes per second.</summary>
    public required IReadOnlyList<double> Bandwidths { get; init; }

    /// <summary>Decode speed of each round, tokens per second.</summary>
    public required IReadOnlyList<double> RoundTokensPerSecond { get; init; }

    /// <summary>int8 operations per second, measured before and after the prompt (mean).</summary>
    public required double Int8OpsPerSecond { get; init; }

    /// <summary>Median over rounds of decode speed ÷ (bandwidth around that round ÷ weight bytes per token).</summary>
    public double DecodeRooflineFraction =>
        SampleStatistics.Median(RoundTokensPerSecond.Select((t, i) => t / (Bandwidths[i] / WeightBytesPerToken)));

    public double MedianBandwidth => SampleStatistics.Median(Bandwidths);

    public double PromptComputeCeilingTokensPerSecond => Int8OpsPerSecond / (2.0 * MatrixParameters);

    public double PromptComputeFraction => PromptTokensPerSecond / PromptComputeCeilingTokensPerSecond;
}
