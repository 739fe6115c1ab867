using CsCheck;
using Serving.Server.Benchmarks.Serve;

namespace Serving.Server.Tests.Benchmarks;

/// <summary>The statistics must equal numpy's (vLLM reports np.mean, np.median, np.std, np.percentile).</summary>
public sealed class SampleStatisticsTests
{
    [Theory]
    // Worked by hand from numpy's default ("linear") definition: virtual index (n - 1) p / 100, interpolated
    // linearly between its neighbours (numpy is not installed here to cross-check).
    [InlineData(new[] { 1.0, 2, 3, 4 }, 50, 2.5)]
    [InlineData(new[] { 1.0, 2, 3, 4 }, 90, 3.7)]
    [InlineData(new[] { 1.0, 2, 3, 4 }, 99, 3.97)]
    [InlineData(new[] { 1.0, 2, 3, 4 }, 0, 1)]
    [InlineData(new[] { 1.0, 2, 3, 4 }, 100, 4)]
    [InlineData(new[] { 15.0, 20, 35, 40, 50 }, 40, 29)]
    [InlineData(new[] { 15.0, 20, 35, 40, 50 }, 90, 46)]
    [InlineData(new[] { 7.0 }, 99, 7)]
    public void Percentile_IsNumpysLinearInterpolation(double[] sorted, double percent, double expected) =>
        Assert.Equal(expected, SampleStatistics.Percentile(sorted, percent), 12);

    [Fact]
    public void Summarize_MeanMedianPopulationStdAndScale()
    {
        // Population standard deviation (numpy's ddof = 0) of 1, 2, 3, 4 is sqrt(1.25); values given unsorted, in seconds.
        var summary = SampleStatistics.Summarize([0.004, 0.001, 0.003, 0.002], 1000);
        Assert.Equal(2.5, summary.Mean, 12);
        Assert.Equal(2.5, summary.Median, 12);
        Assert.Equal(1.118033988749895, summary.Std, 12);
        Assert.Equal(3.7, summary.P90, 12);
        Assert.Equal(3.97, summary.P99, 12);
    }

    [Fact]
    public void Summarize_Empty_IsAllZeros() => Assert.Equal(default, SampleStatistics.Summarize([], 1000));

    [Fact]
    public void Percentile_Property_BetweenNeighbouringOrderStatisticsAndMonotone() =>
        Gen.Double[-1e6, 1e6].Array[1, 50].Select(Gen.Double[0, 100], Gen.Double[0, 100]).Sample((values, p, q) =>
        {
            var sorted = values.Order().ToArray();
            var (low, high) = (Math.Min(p, q), Math.Max(p, q));
            var atLow = SampleStatistics.Percentile(sorted, low);
            var atHigh = SampleStatistics.Percentile(sorted, high);
            var index = (sorted.Length - 1) * low / 100;
            return atLow <= atHigh
                && atLow >= sorted[(int)Math.Floor(index)] && atLow <= sorted[(int)Math.Ceiling(index)]
                && SampleStatistics.Percentile(sorted, 0) == sorted[0]
                && SampleStatistics.Percentile(sorted, 100) == sorted[^1];
        });

    [Fact]
    public void Summarize_Property_MedianIsTheMiddleAndStdMatchesTheDefinition() =>
        Gen.Double[-1e3, 1e3].Array[1, 40].Sample(values =>
        {
            var n = values.Length;
            var middle = Middle(values);
            var mean = values.Average();
            var std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / n);
            var summary = SampleStatistics.Summarize(values, 1);
            return Math.Abs(summary.Median - middle) <= 1e-9 && Math.Abs(summary.Std - std) <= 1e-9 && Math.Abs(summary.Mean - mean) <= 1e-9;
        });

    [Fact]
    public void Median_Property_IsTheMiddleOrTheMeanOfTheTwoMiddlesInAnyOrder() =>
        Gen.Double[-1e3, 1e3].Array[1, 40].Sample(values =>
            Math.Abs(SampleStatistics.Median(values) - Middle(values)) <= 1e-9 && SampleStatistics.Median(values.Reverse()) == SampleStatistics.Median(values));

    /// <summary>The median by its definition: the middle order statistic, or the mean of the two middle ones.</summary>
    private static double Middle(double[] values)
    {
        var sorted = values.Order().ToArray();
        var n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }
}
