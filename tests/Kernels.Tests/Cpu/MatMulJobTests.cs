using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The job that shares a region's rows between threads: every output row is computed exactly once and equals
/// the kernel's own one-call result bit for bit, whether the rows go out in order or, for one token, in sections.</summary>
public sealed unsafe class MatMulJobTests
{
    /// <summary>Rows 256 (four whole sections), 104 (sections of 16 and 40 rows after them), 40 (too few rows for
    /// sections) and 24 in one region, on one to three threads, for one to three tokens (sectioned) and for five.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0, 1, 1)]
    [InlineData(GgmlType.Q4_0, 1, 2)]
    [InlineData(GgmlType.Q4_0, 1, 3)]
    [InlineData(GgmlType.Q4_0, 3, 2)]
    [InlineData(GgmlType.Q4_0, 5, 2)]
    [InlineData(GgmlType.Q8_0, 1, 2)]
    [InlineData(GgmlType.Q8_0, 2, 3)]
    [InlineData(GgmlType.Q8_0, 5, 2)]
    [InlineData(GgmlType.F16, 1, 2)]
    [InlineData(GgmlType.F16, 1, 3)]
    [InlineData(GgmlType.F32, 1, 2)]
    [InlineData(GgmlType.BF16, 1, 2)]
    [InlineData(GgmlType.F16, 2, 2)]
    [InlineData(GgmlType.F16, 5, 2)]
    public void Each_row_is_computed_once_and_equals_the_kernel_alone(GgmlType type, int tokens, int threads)
    {
        const int columns = 96;
        int[][] regions = [[256, 104, 40], [24]];
        using var matrices = new Matrices(type, regions.SelectMany(r => r).ToArray(), columns);
        using var x = new NativeBuffer<float>((long)tokens * columns);
        for (var i = 0; i < tokens * columns; i++)
        {
            x.Pointer[i] = MathF.Sin(i * 0.7f);
        }

        using var quantized = new QuantizedActivations(tokens, columns);
        quantized.Quantize(x.Pointer, tokens, columns);
        var input = new MatMulInput(x.Pointer, quantized, tokens, columns);
        using var pool = new WorkerPool(threads);
        var job = new MatMulJob(threads);
        var k = 0;
        foreach (var region in regions)
        {
            var outputs = new NativeBuffer<float>[region.Length];
            job.Set(input);
            for (var j = 0; j < region.Length; j++)
            {
                outputs[j] = new NativeBuffer<float>((long)tokens * region[j]);
                outputs[j].AsSpan(0, tokens * region[j]).Fill(float.NaN);
                job.Add(matrices.Kernels[k + j], outputs[j].Pointer);
            }

            pool.Run(job);
            for (var j = 0; j < region.Length; j++)
            {
                var kernel = matrices.Kernels[k + j];
                using var alone = new NativeBuffer<float>((long)tokens * kernel.Rows);
                kernel.Compute(input, alone.Pointer, kernel.Rows, 0, kernel.Rows);
                for (var i = 0; i < tokens * kernel.Rows; i++)
                {
                    Assert.True(
                        BitConverter.SingleToInt32Bits(alone.Pointer[i]) == BitConverter.SingleToInt32Bits(outputs[j].Pointer[i]),
                        $"matrix of {kernel.Rows} rows, output {i}: {outputs[j].Pointer[i]} vs {alone.Pointer[i]}");
                }

                outputs[j].Dispose();
            }

            k += region.Length;
        }

        Assert.Equal(type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 || InterleavedLayout.Supports(type, 256), matrices.Kernels[0] is ISectionedMatMulKernel);
    }

    /// <summary>The thread that owns the front of the rows blocks inside its first claim until another thread has
    /// taken rows from the back of its range, so stealing is certain to happen (no timing involved); every row is
    /// still written exactly once.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void A_slow_thread_has_rows_taken_from_the_back_of_its_range_and_none_is_computed_twice(int tokens)
    {
        const int rows = 1024;
        var kernel = new RecordingKernel(rows, blockFirstClaim: true);
        using var y = new NativeBuffer<float>((long)tokens * rows);
        using var pool = new WorkerPool(2);
        var job = new MatMulJob(2);
        job.Set(new MatMulInput(y.Pointer, null, tokens, 64));
        job.Add(kernel, y.Pointer);
        pool.Run(job);
        for (var t = 0; t < tokens; t++)
        {
            for (var r = 0; r < rows; r++)
            {
                Assert.Equal(1f, y.Pointer[(t * rows) + r]);
            }
        }

        Assert.True(kernel.Stolen.IsSet);
    }

    /// <summary>Marks the rows it is asked for (adds 1 to each output) instead of multiplying. With
    /// <c>blockFirstClaim</c>, the call for row 0 waits until another thread computes rows inside the front half.</summary>
    private sealed class RecordingKernel(int rows, bool blockFirstClaim) : IMatMulKernel
    {
        public ManualResetEventSlim Stolen { get; } = new();

        public WeightTensor Weight => throw new NotSupportedException();

        public int Rows => rows;

        public bool UsesQuantizedInput => false;

        private int _frontThread;

        public void Compute(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
        {
            var thread = Environment.CurrentManagedThreadId;
            if (rowStart > 0 && rowEnd <= rows / 2 && thread != Volatile.Read(ref _frontThread))
            {
                Stolen.Set();
            }

            // Bounded, so a job that never steals fails the test instead of hanging it.
            if (blockFirstClaim && rowStart == 0)
            {
                Volatile.Write(ref _frontThread, thread);
                Stolen.Wait(TimeSpan.FromSeconds(30));
            }

            for (var t = 0; t < input.Tokens; t++)
            {
                for (var r = rowStart; r < rowEnd; r++)
                {
                    y[((long)t * ldy) + r] += 1;
                }
            }
        }
    }

    /// <summary>Random weights of several shapes and their kernels (interleaved where the CPU allows).</summary>
    private sealed class Matrices : IDisposable
    {
        private readonly List<NativeBuffer<byte>> _buffers = [];

        public Matrices(GgmlType type, int[] rows, int columns)
        {
            foreach (var r in rows)
            {
                var tensor = new SyntheticTensor("w", type, [r, columns], SyntheticTensorKind.Matrix, (ulong)(7 + Kernels.Count));
                var buffer = new NativeBuffer<byte>(tensor.ByteLength);
                _buffers.Add(buffer);
                SyntheticModel.Fill(tensor, new Span<byte>(buffer.Pointer, (int)tensor.ByteLength));
                Kernels.Add(MatMulKernels.For(new WeightTensor("w", type, [r, columns], (nint)buffer.Pointer, tensor.ByteLength)));
            }
        }

        public List<IMatMulKernel> Kernels { get; } = [];

        public void Dispose()
        {
            foreach (var kernel in Kernels)
            {
                (kernel as IDisposable)?.Dispose();
            }

            foreach (var buffer in _buffers)
            {
                buffer.Dispose();
            }
        }
    }
}
