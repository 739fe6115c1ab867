using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Serving.Kernels.Cpu;

/// <summary>
/// A fixed set of threads for the kernels of one model runner. The calling thread works too, so a pool of N uses
/// N−1 extra threads. Workers spin briefly before blocking: the gaps between the kernels of one step are a few
/// microseconds, far shorter than a wake-up from a blocked wait, while a long spin would steal the core from the
/// next step's single-threaded work. <see cref="Parallel.For(int, int, Action{int})"/> costs several microseconds a call and
/// allocates; one step calls the pool about ten times per layer.
/// Each wait first spins on <c>pause</c> alone for up to <see cref="PauseSpinMicroseconds"/>, then falls back to the
/// event's own spin, which soon starts yielding the thread to the OS, and finally blocks: spinning on <c>pause</c>
/// took the median lag of a worker behind a post from 1–2 to 0.6–0.9 µs, and a one-token decode step waits 111 times
/// (89 products, 22 attention regions).
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    private const int SpinIterations = 2000;

    /// <summary>How long a wait spins on <c>pause</c> before the event's wait: longer than the gaps inside a decode
    /// step (2–6 µs of element-wise work, the other thread's last claim), short enough that an idle pool gives its
    /// cores back almost at once. In-process on a TinyLlama Q4_0 decode step (512 positions), 50 µs made the step
    /// 0.6–2.3 % faster (three runs) and ≈ 0.7 ms 0.9–1.6 %, against the event's spin alone; more in
    /// docs/benchmarks.md.</summary>
    private const int PauseSpinMicroseconds = 50;

    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim[] _start;
    private readonly ManualResetEventSlim _done = new(false, SpinIterations);
    private IParallelJob? _job;
    private int _pending;
    private Exception? _workerFailure;
    private volatile bool _disposed;

    public WorkerPool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;

        // A slim event creates its lock object the first time a thread blocks on it; one short blocking wait now
        // keeps that allocation out of the steps.
        _done.Wait(1);
        _threads = new Thread[threadCount - 1];
        _start = new ManualResetEventSlim[threadCount - 1];
        for (var i = 0; i < _threads.Length; i++)
        {
            _start[i] = new ManualResetEventSlim(false, SpinIterations);
            var index = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"kernel-worker-{index}" };
            _threads[i].Start();
        }
    }

    public int ThreadCount { get; }

    /// <summary>Runs <paramref name="job"/> on every thread and returns when all are done. Not reentrant.</summary>
    public void Run(IParallelJob job)
    {
        if (_threads.Length == 0)
        {
            job.Execute(0);
            return;
        }

        _job = job;
        _done.Reset();
        Volatile.Write(ref _pending, _threads.Length);
        foreach (var start in _start)
        {
            start.Set();
        }

        Exception? failure = null;
        try
        {
            job.Execute(0);
        }
        catch (Exception e)
        {
            failure = e;
        }

        // Always wait for the workers, even after a failure here: the next Run must not start while they still
        // execute this job.
        SpinUntilSet(_done);
        _done.Wait();
        _job = null;
        failure ??= Interlocked.Exchange(ref _workerFailure, null);
        if (failure is not null)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var start in _start)
        {
            start.Set();
        }

        foreach (var thread in _threads)
        {
            thread.Join();
        }

        foreach (var start in _start)
        {
            start.Dispose();
        }

        _done.Dispose();
    }

    private static void SpinUntilSet(ManualResetEventSlim signal)
    {
        var until = Stopwatch.GetTimestamp() + (PauseSpinMicroseconds * Stopwatch.Frequency / 1_000_000);
        while (!signal.IsSet)
        {
            // The clock costs tens of nanoseconds; read it once per sixteen pauses.
            for (var i = 0; i < 16 && !signal.IsSet; i++)
            {
                Thread.SpinWait(1);
            }

            if (Stopwatch.GetTimestamp() > until)
            {
                return;
            }
        }
    }

    private void WorkerLoop(int index)
    {
        var start = _start[index - 1];
        while (true)
        {
            SpinUntilSet(start);
            start.Wait();
            start.Reset();
            if (_disposed)
            {
                return;
            }

            try
            {
                _job!.Execute(index);
            }
            catch (Exception e)
            {
                // Rethrown on the calling thread; an exception escaping a worker would end the process.
                Interlocked.CompareExchange(ref _workerFailure, e, null);
            }

            if (Interlocked.Decrement(ref _pending) == 0)
            {
                _done.Set();
            }
        }
    }
}
