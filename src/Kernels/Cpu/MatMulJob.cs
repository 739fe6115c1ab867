using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Up to three matrix products over the same input (Q/K/V, or gate/up), their output rows handed out with guided
/// self-scheduling: each claim takes a share of what is left (half of it divided among the threads, at least 16
/// rows). Early claims are long, so each thread streams long runs of contiguous weights that the hardware
/// prefetchers follow; late claims are short, so the threads finish together and the barrier at the end of the
/// region wastes little (with fixed chunks the faster thread waited half a chunk on average).
/// </summary>
internal sealed unsafe class MatMulJob : IParallelJob
{
    private const int MinChunkRows = 16;

    private readonly IMatMulKernel[] _kernels = new IMatMulKernel[3];
    private readonly nint[] _outputs = new nint[3];
    private readonly int[] _firstRow = new int[4];
    private readonly int _threads;
    private MatMulInput _input;
    private int _count;
    private int _nextRow;

    public MatMulJob(int threads) => _threads = threads;

    public void Set(in MatMulInput input)
    {
        _input = input;
        _count = 0;
        _nextRow = 0;
    }

    public void Add(IMatMulKernel kernel, float* output)
    {
        _kernels[_count] = kernel;
        _outputs[_count] = (nint)output;
        _firstRow[_count + 1] = _firstRow[_count] + kernel.Rows;
        _count++;
    }

    public void Execute(int threadIndex)
    {
        var total = _firstRow[_count];
        while (true)
        {
            int start, end, k;
            while (true)
            {
                start = Volatile.Read(ref _nextRow);
                if (start >= total)
                {
                    return;
                }

                k = 0;
                while (start >= _firstRow[k + 1])
                {
                    k++;
                }

                // Claims never cross from one matrix into the next, and stay multiples of 16 rows so interleaved
                // 8-row groups are never split.
                var share = Math.Max(MinChunkRows, ((total - start) / (2 * _threads)) & ~(MinChunkRows - 1));
                end = Math.Min(start + share, _firstRow[k + 1]);
                if (Interlocked.CompareExchange(ref _nextRow, end, start) == start)
                {
                    break;
                }
            }

            var kernel = _kernels[k];
            kernel.Compute(_input, (float*)_outputs[k], kernel.Rows, start - _firstRow[k], end - _firstRow[k]);
        }
    }
}
