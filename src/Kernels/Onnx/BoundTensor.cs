using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Serving.Kernels.Onnx;

/// <summary>An fp32 <c>[rows, columns]</c> <see cref="OrtValue"/> over one of our native buffers, recreated only when
/// the buffer or the row count changes: within a step every layer reuses the same few values, so ONNX Runtime reads
/// and writes our memory directly and a step creates a handful of small objects at most.</summary>
internal sealed unsafe class BoundTensor : IDisposable
{
    private readonly long _columns;
    private OrtValue? _value;
    private float* _data;
    private long _rows;

    public BoundTensor(long columns)
    {
        _columns = columns;
    }

    public OrtValue Bind(float* data, long rows)
    {
        if (_value is null || data != _data || rows != _rows)
        {
            _value?.Dispose();
            _value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [rows, _columns], (nint)data, rows * _columns * sizeof(float));
            _data = data;
            _rows = rows;
        }

        return _value;
    }

    public void Dispose()
    {
        _value?.Dispose();
        _value = null;
    }
}
