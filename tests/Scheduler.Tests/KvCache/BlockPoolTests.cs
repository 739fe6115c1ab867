using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Tests.KvCache;

public sealed class BlockPoolTests
{
    [Fact]
    public void Freed_cached_blocks_are_evicted_least_recently_used_first()
    {
        var pool = new BlockPool(3);
        var blocks = Allocate(pool, 3);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(pool.TryCache(blocks[i], BlockHash.Chain(null, [i])));
        }

        pool.Free(blocks[1]);
        pool.Free(blocks[0]);
        pool.Free(blocks[2]);
        Assert.Equal(3, pool.CachedCount);

        var first = Allocate(pool, 1)[0];
        Assert.Same(blocks[1], first);
        Assert.Null(first.Hash);
        Assert.False(pool.TryGetCached(BlockHash.Chain(null, [1]), out _));
        Assert.Same(blocks[0], Allocate(pool, 1)[0]);
        Assert.Equal(1, pool.CachedCount);
    }

    [Fact]
    public void A_hit_on_a_free_cached_block_takes_it_out_of_the_middle_of_the_free_queue()
    {
        var pool = new BlockPool(3);
        var blocks = Allocate(pool, 3);
        var hash = BlockHash.Chain(null, [42]);
        pool.TryCache(blocks[1], hash);
        foreach (var block in blocks)
        {
            pool.Free(block);
        }

        Assert.True(pool.TryGetCached(hash, out var hit));
        pool.Touch(hit);
        Assert.Same(blocks[1], hit);
        Assert.Equal(1, hit.ReferenceCount);
        Assert.Equal([blocks[0], blocks[2]], pool.FreeQueue.HeadToTail());
        Assert.Equal(2, pool.FreeCount);
        Assert.Equal(1, pool.UsedCount);
    }

    [Fact]
    public void Allocation_beyond_the_free_blocks_fails_without_changes()
    {
        var pool = new BlockPool(2);
        Allocate(pool, 1);
        var into = new List<KvCacheBlock>();
        Assert.False(pool.TryAllocate(2, into));
        Assert.Empty(into);
        Assert.Equal(1, pool.FreeCount);
    }

    [Fact]
    public void A_double_free_throws()
    {
        var pool = new BlockPool(1);
        var block = Allocate(pool, 1)[0];
        pool.Free(block);
        Assert.Throws<InvalidOperationException>(() => pool.Free(block));
    }

    [Fact]
    public void A_second_block_with_cached_content_stays_private()
    {
        var pool = new BlockPool(2);
        var blocks = Allocate(pool, 2);
        var hash = BlockHash.Chain(null, [5]);
        Assert.True(pool.TryCache(blocks[0], hash));
        Assert.False(pool.TryCache(blocks[1], hash));
        Assert.Null(blocks[1].Hash);
        Assert.True(pool.TryGetCached(hash, out var cached));
        Assert.Same(blocks[0], cached);
    }

    private static List<KvCacheBlock> Allocate(BlockPool pool, int count)
    {
        var blocks = new List<KvCacheBlock>();
        Assert.True(pool.TryAllocate(count, blocks));
        return blocks;
    }
}
