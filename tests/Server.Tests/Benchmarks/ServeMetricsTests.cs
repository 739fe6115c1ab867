using Serving.Server.Benchmarks.Serve;

namespace Serving.Server.Tests.Benchmarks;

/// <summary>vLLM's definitions: TPOT only over multi-token outputs, goodput with TPOT 0 for single tokens and
/// inclusive objectives, throughputs over the run's duration, failures excluded from every latency.</summary>
public sealed class ServeMetricsTests
{
    private static RequestOutcome Done(int output, double ttft, double latency, params double[] itls) => new(true, null, 10, output, ttft, itls, latency);

    [Fact]
    public void Tpot_IsLatencyMinusTtftOverTheTokensAfterTheFirst()
    {
        var outcome = Done(5, 0.2, 1.0, 0.2, 0.2, 0.2, 0.2);
        Assert.Equal((1.0 - 0.2) / 4, outcome.TpotSeconds!.Value, 12);
    }

    [Fact]
    public void Tpot_SingleTokenOutput_IsUndefinedAndLeftOutOfTheStatistics()
    {
        Assert.Null(Done(1, 0.5, 0.5).TpotSeconds);
        var metrics = ServeMetrics.Compute([Done(1, 0.5, 0.5), Done(3, 0.1, 0.5, 0.2, 0.2)], 2, ServiceLevelObjectives.None);
        Assert.Equal(200, metrics.TpotMs.Mean, 9);
        Assert.Equal(0, metrics.TpotMs.Std, 9);
        Assert.Equal(300, metrics.TtftMs.Mean, 9);
    }

    [Fact]
    public void Goodput_CountsRequestsMeetingEveryObjective_SingleTokenTpotAsZero()
    {
        var objectives = ServiceLevelObjectives.Parse(["ttft:200", "tpot:100"]);
        var outcomes = new[]
        {
            Done(1, 0.2, 0.2),                    // TPOT 0 for goodput, TTFT exactly on the objective: good
            Done(3, 0.1, 0.5, 0.2, 0.2),          // TPOT 200 ms: not good
            Done(3, 0.3, 0.4, 0.05, 0.05),        // TTFT 300 ms: not good
            Done(5, 0.1, 0.3, 0.05, 0.05, 0.05, 0.05), // TPOT 50 ms: good
            RequestOutcome.Failed("HTTP 500"),
        };
        var metrics = ServeMetrics.Compute(outcomes, 4, objectives);
        Assert.Equal(2 / 4.0, metrics.RequestGoodput!.Value, 12);
        Assert.Null(ServeMetrics.Compute(outcomes, 4, ServiceLevelObjectives.None).RequestGoodput);
    }

    [Fact]
    public void Throughputs_AndCounts_CoverCompletedRequestsOnly()
    {
        var outcomes = new[] { Done(4, 0.1, 0.4, 0.1, 0.1, 0.1), Done(2, 0.2, 0.3, 0.1), RequestOutcome.Failed("broken stream") };
        var metrics = ServeMetrics.Compute(outcomes, 2, ServiceLevelObjectives.None);
        Assert.Equal((2, 1, 20L, 6L), (metrics.Completed, metrics.Failed, metrics.TotalInputTokens, metrics.TotalOutputTokens));
        Assert.Equal(1, metrics.RequestThroughput, 12);
        Assert.Equal(10, metrics.InputThroughput, 12);
        Assert.Equal(3, metrics.OutputThroughput, 12);
        Assert.Equal(13, metrics.TotalTokenThroughput, 12);
        Assert.Equal(100, metrics.ItlMs.Mean, 9);      // every gap of every request, four in all
        Assert.Equal(350, metrics.E2elMs.Mean, 9);
        Assert.Equal(["broken stream"], metrics.Errors);
    }

    [Theory]
    [InlineData("ttft")]
    [InlineData("ttft:-1")]
    [InlineData("latency:10")]
    [InlineData("tpot:abc")]
    public void Objectives_RejectMalformedPairs(string pair) => Assert.Throws<ArgumentException>(() => ServiceLevelObjectives.Parse([pair]));

    [Fact]
    public void Arrivals_InfiniteRateSendsAllAtOnce_FiniteRateIsSeededAndEndsAtCountOverRate()
    {
        Assert.All(ArrivalSchedule.Create(8, double.PositiveInfinity, 1), t => Assert.Equal(0, t));
        var times = ArrivalSchedule.Create(100, 4, 7);
        Assert.Equal(times, ArrivalSchedule.Create(100, 4, 7));
        Assert.NotEqual(times, ArrivalSchedule.Create(100, 4, 8));
        Assert.Equal(25, times[^1], 9);
        Assert.True(times.Zip(times.Skip(1)).All(p => p.First <= p.Second) && times[0] > 0);
    }
}
