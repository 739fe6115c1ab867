using Serving.Kernels.Runner;
using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Tests.KvCache;

public sealed class KvCacheManagerTests
{
    private static readonly int[] Prompt = [.. Enumerable.Range(100, 10)];

    [Fact]
    public void A_freed_prompt_is_found_again_in_the_prefix_cache()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(8, 4));
        Assert.True(manager.Allocate(1, Prompt, manager.FindCachedPrefix(Prompt)).Fits);
        var firstBlocks = manager.BlockTable(1).ToArray();
        Assert.True(manager.Free(1));
        Assert.Equal(0, manager.UsedBlocks);
        Assert.Equal(2, manager.CachedBlocks);

        var prefix = manager.FindCachedPrefix(Prompt);
        Assert.Equal(8, prefix.TokenCount);
        Assert.Equal(firstBlocks[..2], prefix.BlockIds);
        var allocation = manager.Allocate(2, Prompt, prefix);
        Assert.Equal(new KvAllocation(true, 8, null), allocation);
        Assert.Equal(firstBlocks[..2], manager.BlockTable(2)[..2].ToArray());
        Assert.Equal(20, manager.PrefixCacheQueryTokens);
        Assert.Equal(8, manager.PrefixCacheHitTokens);
    }

    [Fact]
    public void A_prompt_of_whole_blocks_leaves_its_last_block_to_compute()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(8, 4));
        int[] prompt = [1, 2, 3, 4, 5, 6, 7, 8];
        manager.Allocate(1, prompt, CachedPrefix.None);
        Assert.Equal(4, manager.FindCachedPrefix(prompt).TokenCount);
    }

    [Fact]
    public void Prefix_caching_off_finds_nothing()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(8, 4), enablePrefixCaching: false);
        manager.Allocate(1, Prompt, CachedPrefix.None);
        manager.Free(1);
        Assert.Equal(0, manager.CachedBlocks);
        Assert.Equal(0, manager.FindCachedPrefix(Prompt).TokenCount);
    }

    [Fact]
    public void The_first_write_into_a_shared_partial_block_copies_it()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(8, 4));
        manager.Allocate(1, Prompt, CachedPrefix.None);
        manager.Fork(1, 2);
        var shared = manager.BlockTable(1).ToArray();
        Assert.Equal(shared, manager.BlockTable(2).ToArray());
        Assert.Equal(3, manager.UsedBlocks);

        var child = manager.AppendSlots(2, [7]);
        Assert.True(child.Fits);
        var copy = Assert.NotNull(child.CopyOnWrite);
        Assert.Equal(shared[2], copy.SourceBlockId);
        Assert.Equal(copy.DestinationBlockId, manager.BlockTable(2)[2]);
        Assert.Equal(shared[..2], manager.BlockTable(2)[..2].ToArray());

        // The parent is now the only holder of the old block and writes in place.
        Assert.Equal(new KvAllocation(true, 0, null), manager.AppendSlots(1, [8]));
        Assert.Equal(shared, manager.BlockTable(1).ToArray());
        Assert.Equal(4, manager.UsedBlocks);
    }

    [Fact]
    public void Appending_into_a_full_shared_block_takes_a_new_block_without_a_copy()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(8, 4));
        manager.Allocate(1, Prompt[..8], CachedPrefix.None);
        manager.Fork(1, 2);
        var allocation = manager.AppendSlots(2, [1]);
        Assert.Null(allocation.CopyOnWrite);
        Assert.Equal(3, manager.BlockTable(2).Length);
        Assert.Equal(3, manager.UsedBlocks);
    }

    [Fact]
    public void A_pool_too_small_right_now_reports_does_not_fit_and_changes_nothing()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(5, 4));
        manager.Allocate(1, Prompt, CachedPrefix.None);
        manager.Allocate(3, [1], CachedPrefix.None);
        Assert.Equal(KvAllocation.DoesNotFit, manager.Allocate(2, Prompt, CachedPrefix.None));
        Assert.Equal(KvAllocation.DoesNotFit, manager.AppendSlots(1, [.. Enumerable.Range(0, 7)]));
        Assert.Equal(4, manager.UsedBlocks);
        Assert.Equal(10, manager.TokenCount(1));
        Assert.False(manager.Free(2));
    }

    [Fact]
    public void A_request_larger_than_the_whole_pool_is_refused_with_the_numbers()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(2, 4));
        var error = Assert.Throws<ArgumentException>(() => manager.Allocate(1, Prompt, CachedPrefix.None));
        Assert.Contains("3 blocks", error.Message, StringComparison.Ordinal);
        Assert.Contains("2 blocks (8 tokens)", error.Message, StringComparison.Ordinal);
        manager.Allocate(2, Prompt[..8], CachedPrefix.None);
        Assert.Throws<ArgumentException>(() => manager.AppendSlots(2, [1]));
    }

    [Fact]
    public void Slot_mapping_matches_what_StepInput_computes()
    {
        var manager = IKvCacheManager.Create(new KvCacheConfig(8, 4));
        manager.Allocate(9, [1, 2, 3], CachedPrefix.None);
        manager.Allocate(1, Prompt, CachedPrefix.None);
        var step = new StepInput(16, 1, 8, 4);
        step.AddSequence(Prompt, 0, manager.BlockTable(1), 1);
        var slots = new int[Prompt.Length];
        manager.WriteSlotMapping(1, 0, slots);
        Assert.Equal(step.SlotMapping.ToArray(), slots);
        Assert.Throws<ArgumentOutOfRangeException>(() => manager.WriteSlotMapping(1, 5, new int[6]));
    }
}
