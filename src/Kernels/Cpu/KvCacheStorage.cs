using System.Runtime.CompilerServices;
using Serving.Kernels.Numerics;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Cpu;

/// <summary>
/// The paged KV cache in native memory: for every layer and KV head a value array laid out
/// <c>[block][slot in block][headDim]</c> and a key array laid out <c>[block][headDim][slot in block]</c>, in fp32
/// or fp16 (<see cref="KvCacheDataType"/>). Attention reads one KV head at a time, so one head's slots of a block are
/// kept together (<c>blockSize × headDim</c> contiguous elements instead of a few hundred bytes out of every token's
/// row), and one head's blocks are kept together too: a sequence whose blocks have consecutive numbers, as a fresh
/// pool hands them out, is then one contiguous run per head, which touches half as many 4 KiB pages per head as
/// blocks holding every head (a decode step's attention at 512 positions took 8–15 % less time, see
/// docs/benchmarks.md; the software prefetch ahead of each block is still needed). Keys are transposed within the
/// block so that scoring a block is a sum of key rows times broadcast query elements, without a horizontal reduction
/// per slot (which cost more than the multiply-adds). Which block belongs to which sequence is the scheduler's
/// business; this class only stores.
/// </summary>
internal sealed unsafe class KvCacheStorage : IDisposable
{
    private readonly NativeBuffer<byte> _keys;
    private readonly NativeBuffer<byte> _values;
    private readonly long _layerBytes;
    private readonly long _headBlockBytes;
    private readonly long _headBytes;

    public KvCacheStorage(int layers, int blocks, int blockSize, int kvHeads, int headDim, KvCacheDataType dataType = KvCacheDataType.F32)
    {
        BlockSize = blockSize;
        KvHeads = kvHeads;
        HeadDim = headDim;
        DataType = dataType;
        ElementBytes = KvCacheConfig.ElementBytes(dataType);
        _headBlockBytes = (long)blockSize * headDim * ElementBytes;
        _headBytes = blocks * _headBlockBytes;
        _layerBytes = kvHeads * _headBytes;
        _keys = new NativeBuffer<byte>(_layerBytes * layers);
        _values = new NativeBuffer<byte>(_layerBytes * layers);
    }

    public int BlockSize { get; }

    public int KvHeads { get; }

    public int HeadDim { get; }

    public KvCacheDataType DataType { get; }

    public int ElementBytes { get; }

    public long Bytes => 2 * _keys.Length;

    public byte* Keys(int layer) => _keys.Pointer + (layer * _layerBytes);

    public byte* Values(int layer) => _values.Pointer + (layer * _layerBytes);

    /// <summary>Start of <paramref name="kvHead"/>'s part of <paramref name="block"/> in a layer's key or value
    /// array: for values slot j is <c>j × headDim</c> elements further, for keys dimension d of every slot is
    /// <c>d × blockSize</c> elements further.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* HeadBlock(byte* layer, int block, int kvHead) => HeadStart(layer, kvHead) + (block * HeadBlockBytes);

    /// <summary>Start of <paramref name="kvHead"/>'s blocks in a layer's key or value array; block b of the head is
    /// <c>b × <see cref="HeadBlockBytes"/></c> further.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* HeadStart(byte* layer, int kvHead) => layer + (kvHead * _headBytes);

    /// <summary>Bytes of one KV head's part of one block: <c>blockSize × headDim</c> elements.</summary>
    public long HeadBlockBytes => _headBlockBytes;

    /// <summary>Writes one token's K and V (all KV heads, head-major as the projections produce them) to
    /// <paramref name="slot"/> of a layer, converted to the cache's element type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write(int layer, int slot, float* k, float* v)
    {
        for (var h = 0; h < KvHeads; h++)
        {
            WriteHead(layer, slot, h, k + (h * HeadDim), v + (h * HeadDim));
        }
    }

    /// <summary>Writes one KV head of one token (<see cref="HeadDim"/> values each of <paramref name="k"/> and
    /// <paramref name="v"/>) to <paramref name="slot"/> of a layer; <see cref="Write"/> is this for every head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteHead(int layer, int slot, int kvHead, float* k, float* v)
    {
        var block = slot / BlockSize;
        var inBlock = slot % BlockSize;
        var keys = HeadBlock(Keys(layer), block, kvHead);
        var values = HeadBlock(Values(layer), block, kvHead);
        if (DataType == KvCacheDataType.F16)
        {
            // Keys are rounded into a row first, then spread over the block's transposed layout.
            var rounded = stackalloc ushort[HeadDim];
            SaturatingHalf.Round(v, (ushort*)values + ((long)inBlock * HeadDim), HeadDim);
            SaturatingHalf.Round(k, rounded, HeadDim);
            var keyHalves = (ushort*)keys + inBlock;
            for (var d = 0; d < HeadDim; d++)
            {
                keyHalves[(long)d * BlockSize] = rounded[d];
            }
        }
        else
        {
            var keyFloats = (float*)keys + inBlock;
            for (var d = 0; d < HeadDim; d++)
            {
                keyFloats[(long)d * BlockSize] = k[d];
            }

            new ReadOnlySpan<float>(v, HeadDim).CopyTo(new Span<float>((float*)values + ((long)inBlock * HeadDim), HeadDim));
        }
    }

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
