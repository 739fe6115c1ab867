using System.Runtime.InteropServices;
using Serving.Kernels.Numerics;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Quantization;

/// <summary>Reads rows of a stored tensor as fp32, whatever its storage type. Used off the hot path (embedding rows,
/// norms, biases, tests, conversion); matrix products use the fused kernels instead.</summary>
public static class TensorReader
{
    /// <summary>Expands row <paramref name="row"/> of <paramref name="tensor"/> into <paramref name="destination"/>
    /// (length = columns).</summary>
    public static unsafe void ReadRow(WeightTensor tensor, long row, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var columns = (int)tensor.Columns;
        if (destination.Length < columns)
        {
            throw new ArgumentException($"destination holds {destination.Length} values; {tensor.Name} rows have {columns}", nameof(destination));
        }

        if (row < 0 || row >= tensor.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"{tensor.Name} has {tensor.Rows} rows");
        }

        var rowBytes = tensor.RowBytes;
        var bytes = new ReadOnlySpan<byte>((byte*)tensor.Data + (row * rowBytes), checked((int)rowBytes));
        var dst = destination[..columns];
        switch (tensor.Type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(dst);
                break;
            case GgmlType.F16:
                var halves = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < columns; i++)
                {
                    dst[i] = HalfTable.ToSingle(halves[i]);
                }

                break;
            case GgmlType.BF16:
                var brains = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < columns; i++)
                {
                    dst[i] = BFloat16.ToSingle(brains[i]);
                }

                break;
            case GgmlType.Q8_0:
                Q8_0.Dequantize(bytes, dst);
                break;
            case GgmlType.Q4_0:
                Q4_0.Dequantize(bytes, dst);
                break;
            case GgmlType.Q4_K:
                Q4_K.Dequantize(bytes, dst);
                break;
            case GgmlType.Q5_K:
                Q5_K.Dequantize(bytes, dst);
                break;
            case GgmlType.Q6_K:
                Q6_K.Dequantize(bytes, dst);
                break;
            default:
                throw new NotSupportedException($"tensor {tensor.Name}: type {tensor.Type} cannot be read as fp32");
        }
    }

    /// <summary>Reads a whole (small) tensor as fp32: norms, biases, rope factors.</summary>
    public static float[] ReadAll(WeightTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var columns = (int)tensor.Columns;
        var result = new float[checked((int)tensor.ElementCount)];
        for (long r = 0; r < tensor.Rows; r++)
        {
            ReadRow(tensor, r, result.AsSpan((int)(r * columns), columns));
        }

        return result;
    }
}
