using Serving.Server.Benchmarks;

namespace Serving.Server.Tests.Benchmarks;

/// <summary>The decode fraction of <c>bench latency</c> is the median of its rounds' fractions, each round against
/// the bandwidth measured around it.</summary>
public sealed class LatencyResultTests
{
    [Fact]
    public void An_even_number_of_rounds_reports_the_mean_of_the_two_middle_fractions()
    {
        // 1 GB per token: rounds at 60, 70, 80, 90 tok/s against 100 GB/s are 60, 70, 80 and 90 % of the roofline,
        // given out of order; the median is 75 %, not the upper middle 80 %.
        var result = Result([80, 60, 90, 70], [100e9, 100e9, 100e9, 100e9]);
        Assert.Equal(0.75, result.DecodeRooflineFraction, 12);
    }

    [Fact]
    public void Each_round_is_compared_with_its_own_bandwidth()
    {
        // 50 tok/s at 50 GB/s and 100 tok/s at 200 GB/s: 100 % and 50 %, median 75 % (pooling the rounds would give 67 %).
        var result = Result([50, 100], [50e9, 200e9]);
        Assert.Equal(0.75, result.DecodeRooflineFraction, 12);
        Assert.Equal(125e9, result.MedianBandwidth, 3);
    }

    private static LatencyResult Result(double[] tokensPerSecond, double[] bandwidths) => new()
    {
        Model = "test",
        LoadSeconds = 0,
        PromptTokens = 1,
        GeneratedTokens = 1,
        PromptTokensPerSecond = 1,
        DecodeTokensPerSecond = 1,
        WeightBytesPerToken = 1_000_000_000,
        MatrixParameters = 1,
        Bandwidths = bandwidths,
        RoundTokensPerSecond = tokensPerSecond,
        Int8OpsPerSecond = 1,
    };
}
