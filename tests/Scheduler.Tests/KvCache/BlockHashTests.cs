using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Tests.KvCache;

public sealed class BlockHashTests
{
    [Fact]
    public void Same_parent_and_tokens_give_the_same_hash()
    {
        var parent = BlockHash.Chain(null, [1, 2, 3, 4]);
        Assert.Equal(BlockHash.Chain(parent, [5, 6, 7, 8]), BlockHash.Chain(parent, [5, 6, 7, 8]));
    }

    [Fact]
    public void Same_block_tokens_under_different_parents_differ()
    {
        var a = BlockHash.Chain(null, [1, 2, 3, 4]);
        var b = BlockHash.Chain(null, [1, 2, 3, 5]);
        Assert.NotEqual(BlockHash.Chain(a, [9, 9, 9, 9]), BlockHash.Chain(b, [9, 9, 9, 9]));
    }

    [Fact]
    public void A_first_block_differs_from_one_under_an_all_zero_parent()
    {
        Assert.NotEqual(BlockHash.Chain(null, [7, 7]), BlockHash.Chain(new BlockHash(0, 0), [7, 7]));
    }

    [Fact]
    public void Token_order_and_width_matter()
    {
        Assert.NotEqual(BlockHash.Chain(null, [1, 2]), BlockHash.Chain(null, [2, 1]));
        Assert.NotEqual(BlockHash.Chain(null, [256]), BlockHash.Chain(null, [1, 0]));
    }

    [Fact]
    public void Large_blocks_are_hashed_like_small_ones()
    {
        var tokens = Enumerable.Range(0, 1000).ToArray();
        Assert.Equal(BlockHash.Chain(null, tokens), BlockHash.Chain(null, tokens.ToArray()));
        Assert.NotEqual(BlockHash.Chain(null, tokens), BlockHash.Chain(null, tokens[..999]));
    }
}
