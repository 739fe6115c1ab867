using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Up to three matrix products over the same input (Q/K/V, or gate/up), their output rows handed out with guided
/// self-scheduling: each claim takes a share of what is left (half of it divided among the threads, at least 16
/// rows). Early claims are long, so each thread streams long runs of contiguous weights that the hardware
/// prefetchers follow; late claims are short, so the threads finish together and the barrier at the end of the
/// region wastes little (with fixed chunks the faster thread waited half a chunk on average).
/// For one token, a kernel that reads several sections at once (<see cref="ISectionedMatMulKernel"/>) gets its rows
/// split into that many equal sections, and a claim of rows [s, e) computes [s, e) of every section; the rows after
/// the last whole section are claimed as usual.
/// </summary>
internal sealed unsafe class MatMulJob : IParallelJob
{
    private const int MinChunkRows = 16;

    private readonly IMatMulKernel[] _kernels = new IMatMulKernel[3];
    private readonly nint[] _outputs = new nint[3];
    private readonly int[] _sectionRows = new int[3];
    private readonly int[] _firstClaim = new int[4];
    private readonly int _threads;
    private MatMulInput _input;
    private int _count;
    private int _nextClaim;

    public MatMulJob(int threads) => _threads = threads;

    public void Set(in MatMulInput input)
    {
        _input = input;
        _count = 0;
        _nextClaim = 0;
    }

    public void Add(IMatMulKernel kernel, float* output)
    {
        var sectionRows = 0;
        var claims = kernel.Rows;
        if (_input.Tokens == 1 && kernel is ISectionedMatMulKernel sectioned)
        {
            sectionRows = kernel.Rows / sectioned.Sections & ~(MinChunkRows - 1);
            claims = kernel.Rows - ((sectioned.Sections - 1) * sectionRows);
        }

        _kernels[_count] = kernel;
        _outputs[_count] = (nint)output;
        _sectionRows[_count] = sectionRows;
        _firstClaim[_count + 1] = _firstClaim[_count] + claims;
        _count++;
    }

    public void Execute(int threadIndex)
    {
        var total = _firstClaim[_count];
        while (true)
        {
            int start, end, k;
            while (true)
            {
                start = Volatile.Read(ref _nextClaim);
                if (start >= total)
                {
                    return;
                }

                k = 0;
                while (start >= _firstClaim[k + 1])
                {
                    k++;
                }

                // Claims never cross from one matrix into the next, nor from the sections into the rows after
                // them, and stay multiples of 16 rows so interleaved 8-row groups are never split.
                var sectionEnd = _firstClaim[k] + _sectionRows[k];
                var limit = start < sectionEnd ? sectionEnd : _firstClaim[k + 1];
                var share = Math.Max(MinChunkRows, ((total - start) / (2 * _threads)) & ~(MinChunkRows - 1));
                end = Math.Min(start + share, limit);
                if (Interlocked.CompareExchange(ref _nextClaim, end, start) == start)
                {
                    break;
                }
            }

            var kernel = _kernels[k];
            var output = (float*)_outputs[k];
            var first = start - _firstClaim[k];
            var last = end - _firstClaim[k];
            var sectionRows = _sectionRows[k];
            if (first < sectionRows)
            {
                ((ISectionedMatMulKernel)kernel).ComputeSections(_input, output, first, last, sectionRows);
            }
            else
            {
                // Claim positions past the sections map to the rows after the last whole section.
                var offset = sectionRows == 0 ? 0 : kernel.Rows - _firstClaim[k + 1] + _firstClaim[k];
                kernel.Compute(_input, output, kernel.Rows, first + offset, last + offset);
            }
        }
    }
}
