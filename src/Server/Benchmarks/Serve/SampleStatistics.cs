namespace Serving.Server.Benchmarks.Serve;

/// <summary>Mean, median, standard deviation and percentiles the way numpy computes them (<c>np.mean</c>,
/// <c>np.median</c>, population <c>np.std</c>, <c>np.percentile</c> with linear interpolation), because vLLM's
/// serving benchmark reports them so and results are compared with it.</summary>
internal static class SampleStatistics
{
    /// <summary>Summarizes <paramref name="values"/> multiplied by <paramref name="scale"/> (e.g. seconds to
    /// milliseconds); an empty sample summarizes as all zeros, as vLLM's <c>np.mean(x or 0)</c> does.</summary>
    public static MetricSummary Summarize(IEnumerable<double> values, double scale)
    {
        var sorted = values.Select(v => v * scale).ToArray();
        if (sorted.Length == 0)
        {
            return default;
        }

        Array.Sort(sorted);
        var mean = sorted.Average();
        var variance = 0.0;
        foreach (var v in sorted)
        {
            variance += (v - mean) * (v - mean);
        }

        return new MetricSummary(mean, Percentile(sorted, 50), Math.Sqrt(variance / sorted.Length), Percentile(sorted, 90), Percentile(sorted, 99));
    }

    /// <summary>numpy's median of a non-empty sample in any order: the middle value, or the mean of the two middle
    /// values of an even count (not the upper one: with the four rounds of <c>bench latency</c>, that favoured the
    /// better half of the rounds).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return Percentile(sorted, 50);
    }

    /// <summary>numpy's default ("linear") percentile of an ascending, non-empty sample: the virtual index
    /// (n − 1)·p/100 interpolated between its neighbours.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percent)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        var index = (sorted.Count - 1) * (percent / 100);
        var below = (int)Math.Floor(index);
        var above = Math.Min(below + 1, sorted.Count - 1);
        var t = index - below;
        var a = sorted[below];
        var b = sorted[above];

        // numpy interpolates from the nearer end (b - (b - a)(1 - t) past the midpoint), which keeps the result
        // exact at t = 1 and symmetric; the same form gives bit-identical numbers.
        return t >= 0.5 ? b - ((b - a) * (1 - t)) : a + ((b - a) * t);
    }
}
