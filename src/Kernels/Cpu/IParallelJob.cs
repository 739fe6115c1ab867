namespace Serving.Kernels.Cpu;

/// <summary>Work that the <see cref="WorkerPool"/> runs on every thread at once; each thread claims pieces of it
/// (typically through an interlocked counter) until none are left.</summary>
internal interface IParallelJob
{
    void Execute(int threadIndex);
}
