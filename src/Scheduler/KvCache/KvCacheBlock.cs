namespace Serving.Scheduler.KvCache;

/// <summary>
/// One KV block of the pool. It carries its own free-list links (an intrusive list) so that a cached block that is
/// hit while free can be unlinked from the middle of the free queue in O(1), without a search or an allocation.
/// </summary>
internal sealed class KvCacheBlock(int id)
{
    /// <summary>Index of the block in the runner's KV storage.</summary>
    public int Id { get; } = id;

    /// <summary>Number of requests holding the block. Zero means it is in the free queue.</summary>
    public int ReferenceCount { get; set; }

    /// <summary>The chained hash of its content once the block is full and cached; null otherwise.</summary>
    public BlockHash? Hash { get; set; }

    /// <summary>Previous block in the free queue (towards the head), or null.</summary>
    public KvCacheBlock? Previous { get; set; }

    /// <summary>Next block in the free queue (towards the tail), or null.</summary>
    public KvCacheBlock? Next { get; set; }

    /// <summary>Whether the block is linked into the free queue.</summary>
    public bool IsFree { get; set; }

    /// <inheritdoc/>
    public override string ToString() => $"block {Id} refs {ReferenceCount}{(Hash is { } h ? $" hash {h}" : "")}";
}
