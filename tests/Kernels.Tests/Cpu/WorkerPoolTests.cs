using Serving.Kernels.Cpu;

namespace Serving.Kernels.Tests.Cpu;

public sealed class WorkerPoolTests
{
    [Fact]
    public void Every_thread_runs_each_job_once()
    {
        using var pool = new WorkerPool(3);
        var job = new CountingJob(3);
        for (var i = 0; i < 1000; i++)
        {
            pool.Run(job);
        }

        Assert.Equal([1000, 1000, 1000], job.Counts);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_failure_on_any_thread_reaches_the_caller_and_the_pool_keeps_working(int failingThread)
    {
        using var pool = new WorkerPool(2);
        var error = Assert.Throws<InvalidOperationException>(() => pool.Run(new FailingJob(failingThread)));
        Assert.Equal($"thread {failingThread}", error.Message);
        var job = new CountingJob(2);
        pool.Run(job);
        Assert.Equal([1, 1], job.Counts);
    }

    /// <summary>Waits far longer than the spin phase on both sides: workers idle between jobs and a caller whose
    /// workers are still busy both end up blocked and must be woken, never missing a job or returning early.</summary>
    [Fact]
    public void Threads_that_blocked_between_and_during_jobs_are_woken()
    {
        using var pool = new WorkerPool(3);
        var job = new SlowJob(3, slowThread: 2);
        for (var i = 0; i < 12; i++)
        {
            Thread.Sleep(15);
            pool.Run(job);
            Assert.All(job.Counts, c => Assert.Equal(i + 1, c));
        }
    }

    private sealed class SlowJob(int threads, int slowThread) : IParallelJob
    {
        public int[] Counts { get; } = new int[threads];

        public void Execute(int threadIndex)
        {
            if (threadIndex == slowThread)
            {
                Thread.Sleep(15);
            }

            Counts[threadIndex]++;
        }
    }

    private sealed class CountingJob(int threads) : IParallelJob
    {
        public int[] Counts { get; } = new int[threads];

        public void Execute(int threadIndex) => Counts[threadIndex]++;
    }

    private sealed class FailingJob(int failingThread) : IParallelJob
    {
        public void Execute(int threadIndex)
        {
            if (threadIndex == failingThread)
            {
                throw new InvalidOperationException($"thread {threadIndex}");
            }
        }
    }
}
