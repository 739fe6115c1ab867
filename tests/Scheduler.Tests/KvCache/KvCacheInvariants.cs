using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Tests.KvCache;

/// <summary>Checks the block pool and manager against each other and against a model.</summary>
internal static class KvCacheInvariants
{
    /// <summary>Checks everything after one operation: <paramref name="live"/> is the model of which tokens each live
    /// request holds; <paramref name="written"/> (updated here) is the token prefix each block last held when full.</summary>
    public static void Check(KvCacheManager manager, Dictionary<long, List<int>> live, Dictionary<int, int[]> written)
    {
        var pool = manager.Pool;
        Assert.Equal(pool.TotalCount, manager.FreeBlocks + manager.UsedBlocks);
        Assert.Equal(live.Keys.Order(), manager.Requests.Keys.Order());

        var holders = new int[pool.TotalCount];
        var content = new Dictionary<int, int[]>();
        foreach (var (id, tokens) in live)
        {
            var state = manager.Requests[id];
            Assert.Equal(tokens, state.Tokens);
            Assert.Equal(manager.TokenCount(id), tokens.Count);
            Assert.Equal((tokens.Count + manager.BlockSize - 1) / manager.BlockSize, state.Blocks.Count);
            Assert.Equal(state.Blocks.Select(b => b.Id), manager.BlockTable(id).ToArray());
            Assert.Equal(state.Blocks.Count, state.Blocks.Distinct().Count());
            for (var i = 0; i < state.Blocks.Count; i++)
            {
                var block = state.Blocks[i];
                holders[block.Id]++;
                if ((i + 1) * manager.BlockSize <= tokens.Count)
                {
                    // Two requests sharing a full block must agree on every token up to its end: K/V depends on them.
                    var prefix = tokens.Take((i + 1) * manager.BlockSize).ToArray();
                    Assert.True(!content.TryGetValue(block.Id, out var other) || other.SequenceEqual(prefix), $"{block} shared by different prefixes");
                    content[block.Id] = prefix;
                }
            }
        }

        foreach (var (blockId, prefix) in content)
        {
            written[blockId] = prefix;
        }

        foreach (var block in pool.Blocks)
        {
            Assert.Equal(holders[block.Id], block.ReferenceCount);
            Assert.Equal(block.ReferenceCount == 0, block.IsFree);
        }

        Assert.Equal(pool.Blocks.Count(b => b.ReferenceCount > 0), manager.UsedBlocks);
        var queue = pool.FreeQueue.HeadToTail().ToList();
        Assert.Equal(pool.FreeQueue.Count, queue.Count);
        Assert.Equal(queue.Count, queue.Distinct().Count());
        Assert.All(queue, b => Assert.Equal(0, b.ReferenceCount));

        Assert.Equal(pool.Blocks.Count(b => b.Hash is not null), pool.CachedCount);
        foreach (var (hash, block) in pool.CachedBlocks)
        {
            Assert.Equal(hash, block.Hash);
            Assert.Equal(hash, ChainedHash(written[block.Id], manager.BlockSize));
        }
    }

    /// <summary>The hash of the last full block of <paramref name="prefix"/>, computed from scratch.</summary>
    public static BlockHash ChainedHash(int[] prefix, int blockSize)
    {
        BlockHash? hash = null;
        for (var start = 0; start + blockSize <= prefix.Length; start += blockSize)
        {
            hash = BlockHash.Chain(hash, prefix.AsSpan(start, blockSize));
        }

        return hash ?? throw new ArgumentException("no full block", nameof(prefix));
    }
}
