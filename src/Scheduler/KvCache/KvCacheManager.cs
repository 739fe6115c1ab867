using System.Runtime.InteropServices;
using Serving.Kernels.Runner;

namespace Serving.Scheduler.KvCache;

/// <summary>The block manager over one <see cref="BlockPool"/>; see <see cref="IKvCacheManager"/>.</summary>
internal sealed class KvCacheManager : IKvCacheManager
{
    private readonly BlockPool _pool;
    private readonly bool _prefixCaching;
    private readonly Dictionary<long, RequestKvState> _requests = [];
    private readonly List<KvCacheBlock> _allocated = [];

    public KvCacheManager(KvCacheConfig config, bool enablePrefixCaching)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(config.BlockSize, 1);
        _pool = new BlockPool(config.BlockCount);
        _prefixCaching = enablePrefixCaching;
        BlockSize = config.BlockSize;
    }

    public int BlockSize { get; }

    public int TotalBlocks => _pool.TotalCount;

    public int FreeBlocks => _pool.FreeCount;

    public int UsedBlocks => _pool.UsedCount;

    public int CachedBlocks => _pool.CachedCount;

    public double Usage => (double)_pool.UsedCount / _pool.TotalCount;

    public int MaxTokensPerRequest => _pool.TotalCount * BlockSize;

    public long PrefixCacheQueryTokens { get; private set; }

    public long PrefixCacheHitTokens { get; private set; }

    internal BlockPool Pool => _pool;

    internal IReadOnlyDictionary<long, RequestKvState> Requests => _requests;

    public CachedPrefix FindCachedPrefix(ReadOnlySpan<int> prompt)
    {
        PrefixCacheQueryTokens += prompt.Length;
        var maxBlocks = Math.Max(prompt.Length - 1, 0) / BlockSize;
        if (!_prefixCaching || maxBlocks == 0)
        {
            return CachedPrefix.None;
        }

        var blocks = new List<KvCacheBlock>();
        var hashes = new List<BlockHash>();
        BlockHash? parent = null;
        for (var i = 0; i < maxBlocks; i++)
        {
            var hash = BlockHash.Chain(parent, prompt.Slice(i * BlockSize, BlockSize));
            if (!_pool.TryGetCached(hash, out var block))
            {
                break;
            }

            blocks.Add(block);
            hashes.Add(hash);
            parent = hash;
        }

        PrefixCacheHitTokens += blocks.Count * BlockSize;
        return blocks.Count == 0 ? CachedPrefix.None : new CachedPrefix(blocks, hashes, BlockSize);
    }

    public KvAllocation Allocate(long requestId, ReadOnlySpan<int> tokens, CachedPrefix cachedPrefix)
    {
        ArgumentNullException.ThrowIfNull(cachedPrefix);
        if (_requests.ContainsKey(requestId))
        {
            throw new ArgumentException($"request {requestId} already holds KV blocks", nameof(requestId));
        }

        EnsureCanEverFit(requestId, tokens.Length);
        if (cachedPrefix.TokenCount > tokens.Length)
        {
            throw new ArgumentException($"the cached prefix covers {cachedPrefix.TokenCount} tokens but only {tokens.Length} are allocated", nameof(cachedPrefix));
        }

        // An allocation since FindCachedPrefix may have evicted (and reused) some of the prefix's blocks; only the
        // leading blocks that still hold the hashed content are reused.
        var reused = 0;
        var reusedFree = 0;
        while (reused < cachedPrefix.BlockCount && cachedPrefix.Blocks[reused].Hash == cachedPrefix.Hashes[reused])
        {
            reusedFree += cachedPrefix.Blocks[reused].IsFree ? 1 : 0;
            reused++;
        }

        // Reused blocks that sit in the free queue leave it when touched, so they cannot also serve as new blocks.
        var needed = BlocksFor(tokens.Length) - reused;
        if (needed > _pool.FreeCount - reusedFree)
        {
            return KvAllocation.DoesNotFit;
        }

        var state = new RequestKvState();
        for (var i = 0; i < reused; i++)
        {
            _pool.Touch(cachedPrefix.Blocks[i]);
            state.AddBlock(cachedPrefix.Blocks[i]);
            state.FullBlockHashes.Add(cachedPrefix.Hashes[i]);
        }

        var reusedTokens = reused * BlockSize;
        state.Tokens.AddRange(tokens[..reusedTokens]);
        Write(state, tokens[reusedTokens..], needed);
        _requests.Add(requestId, state);
        return new KvAllocation(true, reusedTokens, null);
    }

    public KvAllocation AppendSlots(long requestId, ReadOnlySpan<int> tokens)
    {
        var state = Get(requestId);
        EnsureCanEverFit(requestId, state.Tokens.Count + tokens.Length);

        // Only a partial last block can be written into; if a fork shares it, the writer needs its own copy.
        var copyOnWrite = !tokens.IsEmpty && state.Tokens.Count % BlockSize != 0 && state.Blocks[^1].ReferenceCount > 1;
        var needed = BlocksFor(state.Tokens.Count + tokens.Length) - state.Blocks.Count;
        if (needed + (copyOnWrite ? 1 : 0) > _pool.FreeCount)
        {
            return KvAllocation.DoesNotFit;
        }

        BlockCopy? copy = null;
        if (copyOnWrite)
        {
            _allocated.Clear();
            _pool.TryAllocate(1, _allocated);
            var shared = state.Blocks[^1];
            state.ReplaceLastBlock(_allocated[0]);
            _pool.Free(shared);
            copy = new BlockCopy(shared.Id, _allocated[0].Id);
        }

        Write(state, tokens, needed);
        return new KvAllocation(true, 0, copy);
    }

    public void Fork(long parentId, long childId)
    {
        var parent = Get(parentId);
        if (_requests.ContainsKey(childId))
        {
            throw new ArgumentException($"request {childId} already holds KV blocks", nameof(childId));
        }

        foreach (var block in parent.Blocks)
        {
            _pool.Touch(block);
        }

        _requests.Add(childId, parent.Clone());
    }

    public bool Free(long requestId)
    {
        if (!_requests.Remove(requestId, out var state))
        {
            return false;
        }

        // Last block first: the free queue then evicts a sequence's tail before its head, and heads (shared prompt
        // prefixes) are the blocks most likely to be hit again.
        for (var i = state.Blocks.Count - 1; i >= 0; i--)
        {
            _pool.Free(state.Blocks[i]);
        }

        return true;
    }

    public int TokenCount(long requestId) => Get(requestId).Tokens.Count;

    public ReadOnlySpan<int> BlockTable(long requestId) => CollectionsMarshal.AsSpan(Get(requestId).BlockTable);

    public void WriteSlotMapping(long requestId, int startPosition, Span<int> slots)
    {
        var state = Get(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(startPosition);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(startPosition + slots.Length, state.Tokens.Count, nameof(slots));
        for (var i = 0; i < slots.Length; i++)
        {
            var position = startPosition + i;
            slots[i] = (state.BlockTable[position / BlockSize] * BlockSize) + (position % BlockSize);
        }
    }

    /// <summary>Adds <paramref name="tokens"/> to the request with <paramref name="newBlocks"/> new blocks (which
    /// the caller checked are free), then hashes and caches every block that became full.</summary>
    private void Write(RequestKvState state, ReadOnlySpan<int> tokens, int newBlocks)
    {
        _allocated.Clear();
        if (!_pool.TryAllocate(newBlocks, _allocated))
        {
            throw new InvalidOperationException($"{newBlocks} blocks were checked free but the pool has {_pool.FreeCount}");
        }

        foreach (var block in _allocated)
        {
            state.AddBlock(block);
        }

        state.Tokens.AddRange(tokens);
        if (!_prefixCaching)
        {
            return;
        }

        var tokenList = CollectionsMarshal.AsSpan(state.Tokens);
        while (state.FullBlockHashes.Count < state.Tokens.Count / BlockSize)
        {
            var index = state.FullBlockHashes.Count;
            BlockHash? parent = index == 0 ? null : state.FullBlockHashes[index - 1];
            var hash = BlockHash.Chain(parent, tokenList.Slice(index * BlockSize, BlockSize));
            state.FullBlockHashes.Add(hash);
            if (state.Blocks[index].Hash is null)
            {
                _pool.TryCache(state.Blocks[index], hash);
            }
        }
    }

    private void EnsureCanEverFit(long requestId, int tokens)
    {
        if (BlocksFor(tokens) > _pool.TotalCount)
        {
            throw new ArgumentException($"request {requestId} needs {tokens} tokens = {BlocksFor(tokens)} blocks of {BlockSize}, but the whole KV pool holds {_pool.TotalCount} blocks ({MaxTokensPerRequest} tokens); it can never run");
        }
    }

    private int BlocksFor(int tokens) => (tokens + BlockSize - 1) / BlockSize;

    private RequestKvState Get(long requestId) =>
        _requests.TryGetValue(requestId, out var state)
            ? state
            : throw new ArgumentException($"request {requestId} holds no KV blocks", nameof(requestId));
}
