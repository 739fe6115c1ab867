using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Cpu;

/// <summary>Up to three matrix products over the same input (Q/K/V, or gate/up), split into chunks of output rows
/// that the pool's threads claim one at a time, so a thread that falls behind (a busy core) delays the step by
/// one chunk, not by half the work.</summary>
internal sealed unsafe class MatMulJob : IParallelJob
{
    private const int MinChunkRows = 16;

    private readonly IMatMulKernel[] _kernels = new IMatMulKernel[3];
    private readonly nint[] _outputs = new nint[3];
    private readonly int[] _firstChunk = new int[4];
    private readonly int[] _chunkRows = new int[3];
    private readonly int _threads;
    private MatMulInput _input;
    private int _count;
    private int _nextChunk;

    public MatMulJob(int threads) => _threads = threads;

    public void Set(in MatMulInput input)
    {
        _input = input;
        _count = 0;
        _nextChunk = 0;
    }

    public void Add(IMatMulKernel kernel, float* output)
    {
        _kernels[_count] = kernel;
        _outputs[_count] = (nint)output;

        // A few long chunks per thread: each thread then streams long runs of contiguous weights, which the hardware
        // prefetchers follow; many short interleaved chunks break the streams and make the claiming counter bounce
        // between cores. Several chunks per thread still let a thread that falls behind be covered by the other.
        var chunkRows = Math.Max(MinChunkRows, (kernel.Rows / (_threads * 4)) & ~(MinChunkRows - 1));
        _chunkRows[_count] = chunkRows;
        _firstChunk[_count + 1] = _firstChunk[_count] + ((kernel.Rows + chunkRows - 1) / chunkRows);
        _count++;
    }

    public void Execute(int threadIndex)
    {
        var total = _firstChunk[_count];
        while (true)
        {
            var chunk = Interlocked.Increment(ref _nextChunk) - 1;
            if (chunk >= total)
            {
                return;
            }

            var k = 0;
            while (chunk >= _firstChunk[k + 1])
            {
                k++;
            }

            var kernel = _kernels[k];
            var rowStart = (chunk - _firstChunk[k]) * _chunkRows[k];
            var rowEnd = Math.Min(kernel.Rows, rowStart + _chunkRows[k]);
            kernel.Compute(_input, (float*)_outputs[k], kernel.Rows, rowStart, rowEnd);
        }
    }
}
