namespace Serving.Kernels.Runner;

/// <summary>Size of the paged KV cache a runner allocates: <see cref="BlockCount"/> blocks of
/// <see cref="BlockSize"/> token slots each, for every layer.</summary>
/// <param name="BlockCount">Number of blocks in the pool.</param>
/// <param name="BlockSize">Token slots per block.</param>
public sealed record KvCacheConfig(int BlockCount, int BlockSize = 16)
{
    /// <summary>A pool that holds <paramref name="tokens"/> token slots (rounded up to whole blocks).</summary>
    public static KvCacheConfig ForTokens(int tokens, int blockSize = 16) =>
        new((tokens + blockSize - 1) / blockSize, blockSize);
}
