using CsCheck;
using Serving.Kernels.Runner;
using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Tests.KvCache;

public sealed class KvCachePropertyTests
{
    // Prompts start with a prefix of one of three fixed sequences over a small alphabet, so prefixes (and whole
    // blocks) are often shared, and random suffixes often coincide too.
    private static readonly int[][] Bases =
        [.. Enumerable.Range(0, 3).Select(b => Enumerable.Range(0, 14).Select(i => ((i * 7) + (b * 3)) % 5).ToArray())];

    private enum Kind
    {
        Start,
        StartWithStalePrefix,
        Append,
        Fork,
        Free,
    }

    private static readonly Gen<Op> GenOp = Gen.Select(
        Gen.Frequency((4, Gen.Const(Kind.Start)), (1, Gen.Const(Kind.StartWithStalePrefix)), (4, Gen.Const(Kind.Append)), (1, Gen.Const(Kind.Fork)), (2, Gen.Const(Kind.Free))),
        Gen.Int[0, 1000],
        Gen.Int[0, 2],
        Gen.Int[0, 14],
        Gen.Int[0, 3].Array[0, 6],
        (kind, pick, baseIndex, prefixLength, tokens) => new Op(kind, pick, baseIndex, prefixLength, tokens));

    [Fact]
    public void Random_operation_sequences_keep_the_pool_consistent()
    {
        Gen.Select(Gen.Int[3, 12], Gen.Int[1, 4], GenOp.Array[1, 60]).Sample(
            (blocks, blockSize, ops) => Run(new KvCacheConfig(blocks, blockSize), ops),
            iter: 2000);
    }

    private static void Run(KvCacheConfig config, Op[] ops)
    {
        var manager = new KvCacheManager(config, enablePrefixCaching: true);
        var live = new Dictionary<long, List<int>>();
        var written = new Dictionary<int, int[]>();
        long nextId = 0;
        foreach (var op in ops)
        {
            var ids = live.Keys.Order().ToArray();
            var picked = ids.Length == 0 ? -1 : ids[op.Pick % ids.Length];
            switch (op.Kind)
            {
                case Kind.Start:
                    Start(manager, live, written, nextId++, op.Prompt, intervening: null);
                    break;
                case Kind.StartWithStalePrefix:
                    Start(manager, live, written, nextId++, op.Prompt, intervening: () => Start(manager, live, written, nextId++, op.Tokens.Length == 0 ? [4] : [.. op.Tokens, .. op.Tokens], null));
                    break;
                case Kind.Append when picked >= 0:
                    Append(manager, live, picked, op.Tokens.Length == 0 ? [op.Pick % 5] : op.Tokens);
                    break;
                case Kind.Fork when picked >= 0:
                    manager.Fork(picked, nextId);
                    live[nextId++] = [.. live[picked]];
                    break;
                case Kind.Free when picked >= 0:
                    Assert.True(manager.Free(picked));
                    live.Remove(picked);
                    break;
                default:
                    break;
            }

            KvCacheInvariants.Check(manager, live, written);
        }

        foreach (var id in live.Keys.ToArray())
        {
            Assert.True(manager.Free(id));
            live.Remove(id);
        }

        KvCacheInvariants.Check(manager, live, written);
        Assert.Equal(0, manager.UsedBlocks);
        Assert.Equal(manager.TotalBlocks, manager.FreeBlocks);
    }

    private static void Start(KvCacheManager manager, Dictionary<long, List<int>> live, Dictionary<int, int[]> written, long id, int[] prompt, Action? intervening)
    {
        var prefix = manager.FindCachedPrefix(prompt);
        Assert.True(prefix.TokenCount < prompt.Length);
        var index = 0;
        foreach (var blockId in prefix.BlockIds)
        {
            // Model check: a hit must be a block that really holds this prompt's tokens up to its end.
            index++;
            Assert.Equal(prompt.Take(index * manager.BlockSize), written[blockId]);
            Assert.Equal(prefix.Hashes[index - 1], KvCacheInvariants.ChainedHash(prompt[..(index * manager.BlockSize)], manager.BlockSize));
        }

        intervening?.Invoke();
        if (prompt.Length > manager.MaxTokensPerRequest)
        {
            Assert.Throws<ArgumentException>(() => manager.Allocate(id, prompt, prefix));
            return;
        }

        var used = manager.UsedBlocks;
        var allocation = manager.Allocate(id, prompt, prefix);
        if (allocation.Fits)
        {
            Assert.InRange(allocation.ReusedTokens, 0, prefix.TokenCount);
            live[id] = [.. prompt];
        }
        else
        {
            Assert.Equal(used, manager.UsedBlocks);
        }
    }

    private static void Append(KvCacheManager manager, Dictionary<long, List<int>> live, long id, int[] tokens)
    {
        if (live[id].Count + tokens.Length > manager.MaxTokensPerRequest)
        {
            Assert.Throws<ArgumentException>(() => manager.AppendSlots(id, tokens));
            return;
        }

        var before = manager.BlockTable(id).ToArray();
        var allocation = manager.AppendSlots(id, tokens);
        if (!allocation.Fits)
        {
            Assert.Equal(before, manager.BlockTable(id).ToArray());
            return;
        }

        if (allocation.CopyOnWrite is { } copy)
        {
            Assert.Equal(before[^1], copy.SourceBlockId);
            Assert.Equal(copy.DestinationBlockId, manager.BlockTable(id)[before.Length - 1]);
        }

        live[id].AddRange(tokens);
    }

    private sealed record Op(Kind Kind, int Pick, int BaseIndex, int PrefixLength, int[] Tokens)
    {
        public int[] Prompt
        {
            get
            {
                int[] prompt = [.. Bases[BaseIndex][..PrefixLength], .. Tokens];
                return prompt.Length == 0 ? [0] : prompt;
            }
        }
    }
}
