namespace Serving.Scheduler.KvCache;

/// <summary>
/// The longest run of full, cached blocks matching the start of a prompt, as found by
/// <see cref="IKvCacheManager.FindCachedPrefix"/>. It holds no references: pass it to
/// <see cref="IKvCacheManager.Allocate"/> for the same prompt in the same scheduling step. Blocks evicted in between
/// are detected there and simply not reused.
/// </summary>
public sealed class CachedPrefix
{
    internal CachedPrefix(IReadOnlyList<KvCacheBlock> blocks, IReadOnlyList<BlockHash> hashes, int blockSize)
    {
        Blocks = blocks;
        Hashes = hashes;
        TokenCount = blocks.Count * blockSize;
    }

    /// <summary>No cached prefix.</summary>
    public static CachedPrefix None { get; } = new([], [], 0);

    /// <summary>Prompt tokens covered by the cached blocks.</summary>
    public int TokenCount { get; }

    /// <summary>Number of cached blocks.</summary>
    public int BlockCount => Blocks.Count;

    /// <summary>Ids of the cached blocks, in prompt order.</summary>
    public IEnumerable<int> BlockIds => Blocks.Select(b => b.Id);

    /// <summary>The prompt's chained block hashes that were found.</summary>
    public IReadOnlyList<BlockHash> Hashes { get; }

    internal IReadOnlyList<KvCacheBlock> Blocks { get; }
}
