using Serving.Kernels.Models;

namespace Serving.Kernels.Runner;

/// <summary>Size and element type of the paged KV cache a runner allocates: <see cref="BlockCount"/> blocks of
/// <see cref="BlockSize"/> token slots each, for every layer.</summary>
/// <param name="BlockCount">Number of blocks in the pool.</param>
/// <param name="BlockSize">Token slots per block.</param>
/// <param name="DataType">How keys and values are stored.</param>
public sealed record KvCacheConfig(int BlockCount, int BlockSize = 16, KvCacheDataType DataType = KvCacheDataType.F32)
{
    /// <summary>A pool that holds <paramref name="tokens"/> token slots (rounded up to whole blocks).</summary>
    public static KvCacheConfig ForTokens(int tokens, int blockSize = 16, KvCacheDataType dataType = KvCacheDataType.F32) =>
        new((tokens + blockSize - 1) / blockSize, blockSize, dataType);

    /// <summary>Bytes of one stored key or value element.</summary>
    public static int ElementBytes(KvCacheDataType dataType) => dataType switch
    {
        KvCacheDataType.F32 => sizeof(float),
        KvCacheDataType.F16 => sizeof(ushort),
        _ => throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "unknown KV cache data type"),
    };

    /// <summary>Bytes one block takes for <paramref name="model"/> in the CPU runner's K and V arrays.</summary>
    public static long BytesPerBlock(ModelConfig model, int blockSize = 16, KvCacheDataType dataType = KvCacheDataType.F32)
    {
        ArgumentNullException.ThrowIfNull(model);
        return 2L * model.LayerCount * blockSize * model.KvDim * ElementBytes(dataType);
    }

    /// <summary>The largest pool that fits in <paramref name="bytes"/> of memory for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The budget does not hold a single block.</exception>
    public static KvCacheConfig ForMemory(long bytes, ModelConfig model, int blockSize = 16, KvCacheDataType dataType = KvCacheDataType.F32)
    {
        var perBlock = BytesPerBlock(model, blockSize, dataType);
        var blocks = bytes / perBlock;
        if (blocks < 1)
        {
            throw new ArgumentException($"a KV budget of {bytes} bytes holds no block; one block of {blockSize} tokens takes {perBlock} bytes for this model", nameof(bytes));
        }

        return new KvCacheConfig((int)Math.Min(blocks, int.MaxValue / blockSize), blockSize, dataType);
    }
}
