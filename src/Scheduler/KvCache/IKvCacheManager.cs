using Serving.Kernels.Runner;

namespace Serving.Scheduler.KvCache;

/// <summary>
/// Hands out the paged KV cache's blocks to requests: per request a block table, prefix caching of full blocks
/// (chained hashes, LRU eviction of freed cached blocks), shared blocks for parallel samples with copy-on-write,
/// and the slot mapping the runner writes K/V through. Not thread-safe: the engine loop owns it.
/// </summary>
public interface IKvCacheManager
{
    /// <summary>Token slots per block.</summary>
    int BlockSize { get; }

    /// <summary>Blocks in the pool.</summary>
    int TotalBlocks { get; }

    /// <summary>Blocks no request holds (cached ones among them can still be hit until evicted).</summary>
    int FreeBlocks { get; }

    /// <summary>Blocks held by at least one request.</summary>
    int UsedBlocks { get; }

    /// <summary>Blocks in the prefix cache, held or free.</summary>
    int CachedBlocks { get; }

    /// <summary>Used blocks ÷ total blocks.</summary>
    double Usage { get; }

    /// <summary>The most tokens one request can ever hold: the whole pool.</summary>
    int MaxTokensPerRequest { get; }

    /// <summary>Prompt tokens looked up in the prefix cache so far (metric).</summary>
    long PrefixCacheQueryTokens { get; }

    /// <summary>Prompt tokens found in the prefix cache so far (metric).</summary>
    long PrefixCacheHitTokens { get; }

    /// <summary>
    /// The longest run of cached full blocks matching the start of <paramref name="prompt"/>. At least one prompt
    /// token is always left to compute, because the last prompt token's logits give the first output token.
    /// </summary>
    CachedPrefix FindCachedPrefix(ReadOnlySpan<int> prompt);

    /// <summary>
    /// Gives a new request the slots for <paramref name="tokens"/> (the tokens to be written in its first step,
    /// starting with its prompt), reusing the blocks of <paramref name="cachedPrefix"/> found for the same prompt.
    /// Token ids rather than a count are needed so that full blocks can be hashed and cached.
    /// </summary>
    /// <returns>A result that says whether the pool could supply the blocks; nothing changes when it cannot.</returns>
    /// <exception cref="ArgumentException">The request already exists, or needs more blocks than the pool has.</exception>
    KvAllocation Allocate(long requestId, ReadOnlySpan<int> tokens, CachedPrefix cachedPrefix);

    /// <summary>
    /// Reserves slots for <paramref name="tokens"/> more tokens of a running request (a decode token or the next
    /// prefill chunk), taking new blocks when the last is full. Writing into a partial block shared with a fork
    /// first moves this request to a private copy, reported in <see cref="KvAllocation.CopyOnWrite"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown request, or it would need more blocks than the pool has.</exception>
    KvAllocation AppendSlots(long requestId, ReadOnlySpan<int> tokens);

    /// <summary>Creates <paramref name="childId"/> sharing every block of <paramref name="parentId"/> (parallel
    /// samples of one prompt); needs no free block.</summary>
    void Fork(long parentId, long childId);

    /// <summary>Releases every block of the request (finish, abort or preemption). Cached full blocks stay
    /// reusable until evicted. Returns false when the request holds nothing.</summary>
    bool Free(long requestId);

    /// <summary>Tokens whose slots the request holds.</summary>
    int TokenCount(long requestId);

    /// <summary>The request's block table (block ids in position order), valid until its next change.</summary>
    ReadOnlySpan<int> BlockTable(long requestId);

    /// <summary>Writes the slot (block id × block size + offset) of positions
    /// <paramref name="startPosition"/>… into <paramref name="slots"/>, as <see cref="StepInput"/> computes them.</summary>
    void WriteSlotMapping(long requestId, int startPosition, Span<int> slots);

    /// <summary>A manager over a pool of <see cref="KvCacheConfig.BlockCount"/> blocks.</summary>
    static IKvCacheManager Create(KvCacheConfig config, bool enablePrefixCaching = true) =>
        new KvCacheManager(config, enablePrefixCaching);
}
