using System.Runtime.CompilerServices;

namespace Serving.Kernels.Cpu;

/// <summary>
/// The paged KV cache in native memory: for every layer a value array laid out
/// <c>[block][kvHead][slot in block][headDim]</c> and a key array laid out <c>[block][kvHead][headDim][slot in
/// block]</c>, fp32. Keeping one head's slots of a block together means attention, which reads one KV head at a time,
/// streams <c>blockSize × headDim</c> contiguous floats per block instead of picking one head's 256 bytes out of
/// every token's row. Keys are transposed within the block so that scoring a block is a sum of key rows times
/// broadcast query elements, without a horizontal reduction per slot (which cost more than the multiply-adds).
/// Which block belongs to which sequence is the scheduler's business; this class only stores.
/// </summary>
internal sealed unsafe class KvCacheStorage : IDisposable
{
    private readonly NativeBuffer<float> _keys;
    private readonly NativeBuffer<float> _values;
    private readonly long _layerStride;

    public KvCacheStorage(int layers, int blocks, int blockSize, int kvHeads, int headDim)
    {
        BlockSize = blockSize;
        KvHeads = kvHeads;
        HeadDim = headDim;
        _layerStride = (long)blocks * blockSize * kvHeads * headDim;
        _keys = new NativeBuffer<float>(_layerStride * layers);
        _values = new NativeBuffer<float>(_layerStride * layers);
    }

    public int BlockSize { get; }

    public int KvHeads { get; }

    public int HeadDim { get; }

    public long Bytes => 2 * _keys.Length * sizeof(float);

    public float* Keys(int layer) => _keys.Pointer + (layer * _layerStride);

    public float* Values(int layer) => _values.Pointer + (layer * _layerStride);

    /// <summary>Start of <paramref name="kvHead"/>'s part of <paramref name="block"/> in a layer's key or value
    /// array: for values slot j is <c>j × headDim</c> floats further, for keys dimension d of every slot is
    /// <c>d × blockSize</c> floats further.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* HeadBlock(float* layer, int block, int kvHead) =>
        layer + ((((long)block * KvHeads) + kvHead) * BlockSize * HeadDim);

    /// <summary>Writes one token's K and V (all KV heads, head-major as the projections produce them) to
    /// <paramref name="slot"/> of a layer.</summary>
    public void Write(int layer, int slot, float* k, float* v)
    {
        var block = slot / BlockSize;
        var inBlock = slot % BlockSize;
        for (var h = 0; h < KvHeads; h++)
        {
            var source = h * HeadDim;
            var keys = HeadBlock(Keys(layer), block, h) + inBlock;
            for (var d = 0; d < HeadDim; d++)
            {
                keys[(long)d * BlockSize] = k[source + d];
            }

            new ReadOnlySpan<float>(v + source, HeadDim).CopyTo(new Span<float>(HeadBlock(Values(layer), block, h) + ((long)inBlock * HeadDim), HeadDim));
        }
    }

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
