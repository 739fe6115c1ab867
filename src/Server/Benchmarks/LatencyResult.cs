namespace Serving.Server.Benchmarks;

/// <summary>Single-stream speed of one model with the machine's ceilings measured in the same run.</summary>
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

    public required double BandwidthBytesPerSecond { get; init; }

    public required double Int8OpsPerSecond { get; init; }

    public double DecodeRooflineTokensPerSecond => BandwidthBytesPerSecond / WeightBytesPerToken;

    public double DecodeRooflineFraction => DecodeTokensPerSecond / DecodeRooflineTokensPerSecond;

    public double PromptComputeCeilingTokensPerSecond => Int8OpsPerSecond / (2.0 * MatrixParameters);

    public double PromptComputeFraction => PromptTokensPerSecond / PromptComputeCeilingTokensPerSecond;
}
