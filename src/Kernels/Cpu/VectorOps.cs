using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Serving.Kernels.Numerics;

namespace Serving.Kernels.Cpu;

/// <summary>The element-wise pieces of a decoder layer over fp32 rows. Like the kernels, they are compiled fully
/// optimised at their first call (<see cref="MethodImplOptions.AggressiveOptimization"/>): tiered compilation runs a
/// method as unoptimised tier-0 code for its first 30 calls and then until a background thread has recompiled it, at
/// least 100 ms later, so the first steps after start ran slow (attention's softmax, left to tiering, took 15.8 µs
/// per item instead of 2.0 over a harness's first 50 ms of attention calls).</summary>
internal static unsafe class VectorOps
{
    /// <summary>out = x / sqrt(mean(x²) + eps) · weight, in the order llama2.c's run.c computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(float* x, float* weight, float* output, int n, float eps)
    {
        var acc = Vector256<float>.Zero;
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.Load(x + i);
            acc = Vector256.FusedMultiplyAdd(v, v, acc);
        }

        var ss = Vector256.Sum(acc);
        for (; i < n; i++)
        {
            ss += x[i] * x[i];
        }

        var scale = 1f / MathF.Sqrt((ss / n) + eps);
        var vs = Vector256.Create(scale);
        i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(weight + i) * (vs * Vector256.Load(x + i))).Store(output + i);
        }

        for (; i < n; i++)
        {
            output[i] = weight[i] * (scale * x[i]);
        }
    }

    /// <summary>x += y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(float* x, float* y, int n)
    {
        var i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(x + i) + Vector256.Load(y + i)).Store(x + i);
        }

        for (; i < n; i++)
        {
            x[i] += y[i];
        }
    }

    /// <summary>gate = silu(gate) · up, the SwiGLU activation, with the single-precision <see cref="VectorExp"/>
    /// (element by element the same operations at every vector width and in the scalar tail). .NET's
    /// <c>Vector256.Exp</c> computes in double precision: with it this took 5.1–5.3 µs of a decode step's layer
    /// (5,632 values and their quantization).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluMultiply(float* gate, float* up, int n)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var g = Vector512.Load(gate + i);
                var silu = g / (Vector512<float>.One + VectorExp.Exp(-g));
                (silu * Vector512.Load(up + i)).Store(gate + i);
            }
        }

        for (; i + 8 <= n; i += 8)
        {
            var g = Vector256.Load(gate + i);
            var silu = g / (Vector256<float>.One + VectorExp.Exp(-g));
            (silu * Vector256.Load(up + i)).Store(gate + i);
        }

        for (; i < n; i++)
        {
            var g = gate[i];
            gate[i] = g / (1f + VectorExp.Exp(-g)) * up[i];
        }
    }
}
