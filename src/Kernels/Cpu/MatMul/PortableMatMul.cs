using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Fallback for CPUs without AVX2/FMA: dequantizes one weight row at a time and multiplies in fp32. Slow,
/// but gives the same results within quantization error, so the server still runs anywhere .NET runs.</summary>
internal static unsafe class PortableMatMul
{
    public static void Compute(WeightTensor weight, in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
    {
        var columns = (int)weight.Columns;
        var row = new float[columns];
        for (var r = rowStart; r < rowEnd; r++)
        {
            TensorReader.ReadRow(weight, r, row);
            for (var t = 0; t < input.Tokens; t++)
            {
                var x = new ReadOnlySpan<float>(input.Values + ((long)t * columns), columns);
                var sum = 0f;
                for (var i = 0; i < columns; i++)
                {
                    sum += row[i] * x[i];
                }

                y[((long)t * ldy) + r] = sum;
            }
        }
    }
}
