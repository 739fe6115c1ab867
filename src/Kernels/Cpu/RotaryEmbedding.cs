using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Models;

namespace Serving.Kernels.Cpu;

/// <summary>Rotary position embedding for both pairings (<see cref="RopeLayout"/>). Cos/sin are computed per step
/// for the positions in the batch rather than tabulated for the whole context (128K positions × 64 frequencies
/// would be 64 MB for a Llama 3 model).</summary>
internal sealed unsafe class RotaryEmbedding
{
    private readonly float[] _inverseFrequency;
    private readonly RopeLayout _layout;
    private readonly int _headDim;
    private readonly int _half;

    public RotaryEmbedding(ModelConfig config)
    {
        _layout = config.RopeLayout;
        _headDim = config.HeadDim;
        var dims = config.RopeDimensions > 0 ? config.RopeDimensions : config.HeadDim;
        _half = dims / 2;
        _inverseFrequency = new float[_half];
        for (var j = 0; j < _half; j++)
        {
            var frequency = 1.0 / Math.Pow(config.RopeTheta, 2.0 * j / dims);
            if (config.RopeFrequencyFactors is { } factors)
            {
                frequency /= factors[j];
            }

            _inverseFrequency[j] = (float)frequency;
        }
    }

    /// <summary>Frequencies per position.</summary>
    public int Half => _half;

    /// <summary>Fills cos/sin (<see cref="Half"/> values each) for <paramref name="position"/>.</summary>
    public void Angles(int position, float* cos, float* sin)
    {
        for (var j = 0; j < _half; j++)
        {
            var angle = position * _inverseFrequency[j];
            (sin[j], cos[j]) = MathF.SinCos(angle);
        }
    }

    /// <summary>Rotates <paramref name="heads"/> heads stored contiguously at <paramref name="x"/>. Vectorized
    /// with the scalar formula's operations (two products, then one subtraction or addition; no fused multiply-add),
    /// so results are the same bits either way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(float* x, int heads, float* cos, float* sin)
    {
        var vectorized = Avx.IsSupported ? _half & ~7 : 0;
        if (_layout == RopeLayout.Interleaved)
        {
            // Pairs are adjacent: each cos/sin value twice, the sine negated where it multiplies the pair's second
            // element into the first (a·c − b·s is a·c + b·(−s) exactly).
            var cosPairs = stackalloc float[2 * vectorized];
            var sinPairs = stackalloc float[2 * vectorized];
            for (var j = 0; j < vectorized; j++)
            {
                cosPairs[2 * j] = cos[j];
                cosPairs[(2 * j) + 1] = cos[j];
                sinPairs[2 * j] = -sin[j];
                sinPairs[(2 * j) + 1] = sin[j];
            }

            for (var h = 0; h < heads; h++)
            {
                var head = x + (h * _headDim);
                for (var i = 0; i < 2 * vectorized; i += 8)
                {
                    var v = Vector256.Load(head + i);
                    var swapped = Avx.Permute(v, 0b10_11_00_01);
                    ((v * Vector256.Load(cosPairs + i)) + (swapped * Vector256.Load(sinPairs + i))).Store(head + i);
                }

                for (var j = vectorized; j < _half; j++)
                {
                    float a = head[2 * j], b = head[(2 * j) + 1];
                    head[2 * j] = (a * cos[j]) - (b * sin[j]);
                    head[(2 * j) + 1] = (a * sin[j]) + (b * cos[j]);
                }
            }

            return;
        }

        for (var h = 0; h < heads; h++)
        {
            var head = x + (h * _headDim);
            for (var j = 0; j < vectorized; j += 8)
            {
                var a = Vector256.Load(head + j);
                var b = Vector256.Load(head + j + _half);
                var c = Vector256.Load(cos + j);
                var s = Vector256.Load(sin + j);
                ((a * c) - (b * s)).Store(head + j);
                ((a * s) + (b * c)).Store(head + j + _half);
            }

            for (var j = vectorized; j < _half; j++)
            {
                float a = head[j], b = head[j + _half];
                head[j] = (a * cos[j]) - (b * sin[j]);
                head[j + _half] = (a * sin[j]) + (b * cos[j]);
            }
        }
    }
}
