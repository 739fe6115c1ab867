using Serving.Kernels.Cpu;

namespace Serving.Kernels.Runner;

/// <summary>
/// The element-wise work between two matrix products — residual add, RMS norm, SiLU·up, and the int8 quantization
/// of the next product's input — split by tokens over the pool when a step has enough tokens for it to pay (on one
/// thread, the other core would wait through it). Each token row gets the same operations whichever thread runs it
/// and however many tokens share the step, so results do not depend on the split or the batch.
/// </summary>
internal sealed unsafe class TokenRowsJob : IParallelJob
{
    /// <summary>Fewer tokens than this run on the calling thread: a parallel region costs more than their work.</summary>
    public const int MinParallelTokens = 4;

    private readonly int _threads;
    private Operation _operation;
    private float* _x;
    private float* _other;
    private float* _weight;
    private float* _output;
    private int _tokens;
    private int _dim;
    private float _eps;
    private QuantizedActivations? _quantized;

    public TokenRowsJob(int threads) => _threads = threads;

    private enum Operation
    {
        Norm,
        ResidualNorm,
        SiluMultiply,
        QuantizeOnly,
    }

    /// <summary>output = RmsNorm(x) · weight per row, then quantized into <paramref name="quantized"/> if given.</summary>
    public void SetNorm(float* x, float* weight, float* output, int tokens, int dim, float eps, QuantizedActivations? quantized) =>
        Set(Operation.Norm, x, null, weight, output, tokens, dim, eps, quantized);

    /// <summary>x += residual, then output = RmsNorm(x) · weight per row, then quantized if asked.</summary>
    public void SetResidualNorm(float* x, float* residual, float* weight, float* output, int tokens, int dim, float eps, QuantizedActivations? quantized) =>
        Set(Operation.ResidualNorm, x, residual, weight, output, tokens, dim, eps, quantized);

    /// <summary>gate = silu(gate) · up per row, then quantized if asked.</summary>
    public void SetSiluMultiply(float* gate, float* up, int tokens, int dim, QuantizedActivations? quantized) =>
        Set(Operation.SiluMultiply, gate, up, null, gate, tokens, dim, 0, quantized);

    /// <summary>Only the int8 quantization of <paramref name="x"/>'s rows into <paramref name="quantized"/>.</summary>
    public void SetQuantize(float* x, int tokens, int dim, QuantizedActivations quantized) =>
        Set(Operation.QuantizeOnly, x, null, null, x, tokens, dim, 0, quantized);

    /// <summary>Runs the job set last: on the pool for steps of <see cref="MinParallelTokens"/> or more tokens.</summary>
    public void Run(WorkerPool pool)
    {
        if (_tokens >= MinParallelTokens)
        {
            pool.Run(this);
        }
        else
        {
            Rows(0, _tokens);
        }
    }

    public void Execute(int threadIndex) =>
        Rows((int)((long)_tokens * threadIndex / _threads), (int)((long)_tokens * (threadIndex + 1) / _threads));

    private void Set(Operation operation, float* x, float* other, float* weight, float* output, int tokens, int dim, float eps, QuantizedActivations? quantized)
    {
        _operation = operation;
        _x = x;
        _other = other;
        _weight = weight;
        _output = output;
        _tokens = tokens;
        _dim = dim;
        _eps = eps;
        _quantized = quantized;
    }

    private void Rows(int first, int end)
    {
        for (var t = first; t < end; t++)
        {
            var offset = (long)t * _dim;
            switch (_operation)
            {
                case Operation.Norm:
                    VectorOps.RmsNorm(_x + offset, _weight, _output + offset, _dim, _eps);
                    break;
                case Operation.ResidualNorm:
                    VectorOps.Add(_x + offset, _other + offset, _dim);
                    VectorOps.RmsNorm(_x + offset, _weight, _output + offset, _dim, _eps);
                    break;
                case Operation.SiluMultiply:
                    VectorOps.SiluMultiply(_x + offset, _other + offset, _dim);
                    break;
                default:
                    // QuantizeOnly: the rows are final; only the quantization below runs.
                    break;
            }
        }

        _quantized?.Quantize(_output, first, end, _dim);
    }
}
