using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Up to three matrix products over the same input (Q/K/V, or gate/up), their output rows shared between the threads.
/// Each thread owns a contiguous range of the rows and claims from its front a share of what it has left (a
/// quarter, at least 16 rows): early claims are long, so each thread streams long runs of contiguous weights that
/// the hardware prefetchers follow, and the two threads' streams stay far apart (when they took turns at one shared
/// front, each thread's prefetchers ran on into the rows the other had just claimed). A thread whose range is
/// empty takes half of what is left at the back of another thread's range, so both reach the barrier at the end of
/// the region together.
/// For one to three tokens, a kernel that reads several sections at once (<see cref="ISectionedMatMulKernel"/>) gets its rows
/// split into that many equal sections, and a claim of rows [s, e) computes [s, e) of every section; the rows after
/// the last whole section are claimed as usual.
/// </summary>
internal sealed unsafe class MatMulJob : IParallelJob
{
    private const int MinChunkRows = 16;

    /// <summary>Longs between two threads' ranges: 128 bytes, so claims by one thread do not invalidate the cache
    /// line another thread claims from.</summary>
    private const int RangeStride = 16;

    private readonly IMatMulKernel[] _kernels = new IMatMulKernel[3];
    private readonly nint[] _outputs = new nint[3];
    private readonly int[] _sectionRows = new int[3];
    private readonly int[] _firstClaim = new int[4];
    private readonly int _threads;

    /// <summary>Per thread, its unclaimed claim positions [low, high) packed as <c>high &lt;&lt; 32 | low</c>, so
    /// the owner (advancing low) and a thief (lowering high) change them with one compare-and-swap.</summary>
    private readonly long[] _ranges;
    private MatMulInput _input;
    private int _count;

    public MatMulJob(int threads)
    {
        _threads = threads;
        _ranges = new long[threads * RangeStride];
    }

    public void Set(in MatMulInput input)
    {
        _input = input;
        _count = 0;
    }

    public void Add(IMatMulKernel kernel, float* output)
    {
        var sectionRows = 0;
        var claims = kernel.Rows;
        if (_input.Tokens <= ISectionedMatMulKernel.MaxTokens && kernel is ISectionedMatMulKernel sectioned)
        {
            sectionRows = kernel.Rows / sectioned.Sections & ~(MinChunkRows - 1);
            claims = kernel.Rows - ((sectioned.Sections - 1) * sectionRows);
        }

        _kernels[_count] = kernel;
        _outputs[_count] = (nint)output;
        _sectionRows[_count] = sectionRows;
        _firstClaim[_count + 1] = _firstClaim[_count] + claims;
        _count++;

        var total = (long)_firstClaim[_count];
        for (var t = 0; t < _threads; t++)
        {
            var low = (int)(total * t / _threads) & ~(MinChunkRows - 1);
            var high = t == _threads - 1 ? (int)total : (int)(total * (t + 1) / _threads) & ~(MinChunkRows - 1);
            _ranges[t * RangeStride] = Pack(low, high);
        }
    }

    public void Execute(int threadIndex)
    {
        while (ClaimFront(threadIndex, out var start, out var end) || Steal(threadIndex, out start, out end))
        {
            Compute(start, end);
        }
    }

    private static long Pack(int low, int high) => ((long)high << 32) | (uint)low;

    private bool ClaimFront(int thread, out int start, out int end)
    {
        ref var range = ref _ranges[thread * RangeStride];
        while (true)
        {
            var packed = Volatile.Read(ref range);
            start = (int)packed;
            var high = (int)(packed >> 32);
            if (start >= high)
            {
                end = start;
                return false;
            }

            var share = Math.Max(MinChunkRows, ((high - start) / 4) & ~(MinChunkRows - 1));
            end = Math.Min(Math.Min(start + share, high), SegmentEnd(start));
            if (Interlocked.CompareExchange(ref range, Pack(end, high), packed) == packed)
            {
                return true;
            }
        }
    }

    private bool Steal(int thread, out int start, out int end)
    {
        for (var i = 1; i < _threads; i++)
        {
            ref var range = ref _ranges[(thread + i) % _threads * RangeStride];
            while (true)
            {
                var packed = Volatile.Read(ref range);
                var low = (int)packed;
                end = (int)(packed >> 32);
                if (low >= end)
                {
                    break;
                }

                var share = Math.Max(MinChunkRows, ((end - low) / 2) & ~(MinChunkRows - 1));
                start = Math.Max(Math.Max(low, (end - share) & ~(MinChunkRows - 1)), SegmentStart(end - 1));
                if (Interlocked.CompareExchange(ref range, Pack(low, start), packed) == packed)
                {
                    return true;
                }
            }
        }

        start = end = 0;
        return false;
    }

    /// <summary>Claims never cross from one matrix into the next, nor from the sections into the rows after them:
    /// the end of the piece that claim position <paramref name="position"/> lies in.</summary>
    private int SegmentEnd(int position)
    {
        var k = Matrix(position);
        var sectionEnd = _firstClaim[k] + _sectionRows[k];
        return position < sectionEnd ? sectionEnd : _firstClaim[k + 1];
    }

    private int SegmentStart(int position)
    {
        var k = Matrix(position);
        var sectionEnd = _firstClaim[k] + _sectionRows[k];
        return position < sectionEnd ? _firstClaim[k] : sectionEnd;
    }

    private int Matrix(int position)
    {
        var k = 0;
        while (position >= _firstClaim[k + 1])
        {
            k++;
        }

        return k;
    }

    private void Compute(int start, int end)
    {
        var k = Matrix(start);
        var kernel = _kernels[k];
        var output = (float*)_outputs[k];
        var first = start - _firstClaim[k];
        var last = end - _firstClaim[k];
        var sectionRows = _sectionRows[k];
        if (first < sectionRows)
        {
            ((ISectionedMatMulKernel)kernel).ComputeSections(_input, output, kernel.Rows, first, last, sectionRows);
        }
        else
        {
            // Claim positions past the sections map to the rows after the last whole section.
            var offset = sectionRows == 0 ? 0 : kernel.Rows - _firstClaim[k + 1] + _firstClaim[k];
            kernel.Compute(_input, output, kernel.Rows, first + offset, last + offset);
        }
    }
}
