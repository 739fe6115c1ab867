namespace Serving.Server.Benchmarks.Serve;

/// <summary>When each request is sent, in seconds from the start: a Poisson process (exponential gaps) at the
/// requested rate, or everything at once for an infinite rate.</summary>
internal static class ArrivalSchedule
{
    public static double[] Create(int count, double requestsPerSecond, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requestsPerSecond);
        var times = new double[count];
        if (double.IsPositiveInfinity(requestsPerSecond))
        {
            return times;
        }

        var random = new Random(seed);
        var elapsed = 0.0;
        for (var i = 0; i < count; i++)
        {
            // 1 - U lies in (0, 1], so the logarithm is finite.
            elapsed += -Math.Log(1 - random.NextDouble()) / requestsPerSecond;
            times[i] = elapsed;
        }

        // Like vLLM, rescale so the last request goes out at count / rate: a run's offered load is then exactly the
        // requested rate whatever the seed, which keeps throughput comparable between seeds.
        var scale = count / requestsPerSecond / elapsed;
        for (var i = 0; i < count; i++)
        {
            times[i] *= scale;
        }

        return times;
    }
}
