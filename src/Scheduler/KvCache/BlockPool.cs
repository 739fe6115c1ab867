namespace Serving.Scheduler.KvCache;

/// <summary>
/// All KV blocks, allocated once at start-up, with reference counts and the prefix cache. A block whose reference
/// count drops to zero goes to the tail of the free queue but keeps its hash, so a later request with the same
/// prefix can take it back (<see cref="Touch"/>) until allocation evicts it from the head.
/// </summary>
internal sealed class BlockPool
{
    private readonly KvCacheBlock[] _blocks;
    private readonly FreeBlockQueue _free = new();
    private readonly Dictionary<BlockHash, KvCacheBlock> _cached = [];

    /// <summary>Creates <paramref name="blockCount"/> free, uncached blocks with ids 0…blockCount−1.</summary>
    public BlockPool(int blockCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockCount, 1);
        _blocks = new KvCacheBlock[blockCount];
        for (var i = 0; i < blockCount; i++)
        {
            _blocks[i] = new KvCacheBlock(i);
            _free.PushTail(_blocks[i]);
        }
    }

    /// <summary>Blocks in the pool.</summary>
    public int TotalCount => _blocks.Length;

    /// <summary>Blocks with no holder (including cached ones that can still be hit).</summary>
    public int FreeCount => _free.Count;

    /// <summary>Blocks held by at least one request.</summary>
    public int UsedCount => _blocks.Length - _free.Count;

    /// <summary>Blocks registered in the prefix cache (free or held).</summary>
    public int CachedCount => _cached.Count;

    /// <summary>Every block, indexed by id.</summary>
    public IReadOnlyList<KvCacheBlock> Blocks => _blocks;

    /// <summary>The free queue, for invariant checks.</summary>
    public FreeBlockQueue FreeQueue => _free;

    /// <summary>The prefix cache map, for invariant checks.</summary>
    public IReadOnlyDictionary<BlockHash, KvCacheBlock> CachedBlocks => _cached;

    /// <summary>Takes <paramref name="count"/> blocks from the head of the free queue into
    /// <paramref name="into"/>, each with reference count 1, evicting cached ones from the prefix cache.
    /// Returns false and changes nothing when fewer than <paramref name="count"/> blocks are free.</summary>
    public bool TryAllocate(int count, List<KvCacheBlock> into)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _free.Count)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            var block = _free.PopHead();
            Evict(block);
            block.ReferenceCount = 1;
            into.Add(block);
        }

        return true;
    }

    /// <summary>The cached block holding the content hashed as <paramref name="hash"/>, if any.</summary>
    public bool TryGetCached(BlockHash hash, out KvCacheBlock block) => _cached.TryGetValue(hash, out block!);

    /// <summary>Adds a holder to <paramref name="block"/> (a prefix-cache hit or a fork); a free block leaves the
    /// free queue so it cannot be evicted while held.</summary>
    public void Touch(KvCacheBlock block)
    {
        if (block.IsFree)
        {
            _free.Remove(block);
        }

        block.ReferenceCount++;
    }

    /// <summary>Removes a holder; at zero the block goes to the free tail and stays cached until evicted.</summary>
    public void Free(KvCacheBlock block)
    {
        if (block.ReferenceCount <= 0)
        {
            throw new InvalidOperationException($"double free of {block}");
        }

        if (--block.ReferenceCount == 0)
        {
            _free.PushTail(block);
        }
    }

    /// <summary>Registers the full, held <paramref name="block"/> under <paramref name="hash"/>. Returns false when
    /// another block already caches that content (the first one stays the cached copy; this one stays private).</summary>
    public bool TryCache(KvCacheBlock block, BlockHash hash)
    {
        if (block.Hash is not null)
        {
            throw new InvalidOperationException($"{block} is already cached");
        }

        if (!_cached.TryAdd(hash, block))
        {
            return false;
        }

        block.Hash = hash;
        return true;
    }

    private void Evict(KvCacheBlock block)
    {
        if (block.Hash is { } hash)
        {
            _cached.Remove(hash);
            block.Hash = null;
        }
    }
}
