using Serving.Kernels.Onnx.Proto;
using Serving.Kernels.Cpu;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Onnx;

/// <summary>
/// The external initializers of one graph segment: tensors (raw <c>OrtValue*</c>) over memory we own or map, never copied
/// into a graph proto. fp32 matrices are handed over where the model file maps them; quantized matrices are repacked
/// once into MatMulNBits' layout and fp16/bf16 ones widened once, into native buffers this set owns.
/// </summary>
internal sealed unsafe class OnnxWeightSet : IDisposable
{
    private readonly List<string> _names = [];
    private readonly List<nint> _values = [];
    private readonly List<IDisposable> _buffers = [];

    public IReadOnlyList<string> Names => _names;

    public IReadOnlyList<nint> Values => _values;

    /// <summary>Supplies the data of <paramref name="matrix"/> from <paramref name="weight"/>.</summary>
    public void AddMatrix(OnnxMatrix matrix, WeightTensor weight)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(weight);
        if (matrix.Lowering == MatrixLowering.Gemm)
        {
            var data = weight.Type == GgmlType.F32 ? weight.Data : (nint)Widen(weight);
            Add(matrix.Name, TensorProto.Types.DataType.Float, [matrix.Rows, matrix.Columns], data, matrix.Rows * matrix.Columns * sizeof(float));
            return;
        }

        var blocks = matrix.Rows * matrix.Blocks;
        var codes = Own(new NativeBuffer<byte>(blocks * matrix.BlobBytes, clear: false));
        var scales = Own(new NativeBuffer<float>(blocks, clear: false));
        MatMulNBitsPacking.Pack(weight, matrix, codes.Pointer, scales.Pointer);
        Add(matrix.Name, TensorProto.Types.DataType.Uint8, [matrix.Rows, matrix.Blocks, matrix.BlobBytes], (nint)codes.Pointer, codes.Length);
        Add(matrix.ScalesName, TensorProto.Types.DataType.Float, [blocks], (nint)scales.Pointer, blocks * sizeof(float));
    }

    /// <summary>Supplies a vector (norm weight, bias) as fp32.</summary>
    public void AddVector(string name, WeightTensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        Add(name, TensorProto.Types.DataType.Float, [weight.ElementCount], (nint)Widen(weight), weight.ElementCount * sizeof(float));
    }

    public void Dispose()
    {
        foreach (var value in _values)
        {
            OrtCApi.ReleaseValue(value);
        }

        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
    }

    private float* Widen(WeightTensor weight)
    {
        var buffer = Own(new NativeBuffer<float>(weight.ElementCount, clear: false));
        var columns = (int)weight.Columns;
        for (long row = 0; row < weight.Rows; row++)
        {
            TensorReader.ReadRow(weight, row, buffer.AsSpan(row * columns, columns));
        }

        return buffer.Pointer;
    }

    private T Own<T>(T buffer)
        where T : IDisposable
    {
        _buffers.Add(buffer);
        return buffer;
    }

    // ONNX Runtime's tensor element types are numbered as ONNX's TensorProto data types.
    private void Add(string name, TensorProto.Types.DataType type, long[] shape, nint data, long bytes)
    {
        _values.Add(OrtCApi.CreateTensor(data, bytes, shape, (int)type));
        _names.Add(name);
    }
}
