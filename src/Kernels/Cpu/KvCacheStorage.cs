namespace Serving.Kernels.Cpu;

/// <summary>The paged KV cache in native memory: for every layer a key and a value array of
/// <c>blocks × blockSize</c> slots, each slot holding one token's K (or V) for all KV heads (<c>kvDim</c> fp32).
/// Which block belongs to which sequence is the scheduler's business; this class only stores.</summary>
internal sealed unsafe class KvCacheStorage : IDisposable
{
    private readonly NativeBuffer<float> _keys;
    private readonly NativeBuffer<float> _values;
    private readonly long _layerStride;

    public KvCacheStorage(int layers, int blocks, int blockSize, int kvDim)
    {
        Slots = blocks * blockSize;
        KvDim = kvDim;
        _layerStride = (long)Slots * kvDim;
        _keys = new NativeBuffer<float>(_layerStride * layers);
        _values = new NativeBuffer<float>(_layerStride * layers);
    }

    public int Slots { get; }

    public int KvDim { get; }

    public long Bytes => 2 * _keys.Length * sizeof(float);

    public float* Keys(int layer) => _keys.Pointer + (layer * _layerStride);

    public float* Values(int layer) => _values.Pointer + (layer * _layerStride);

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
