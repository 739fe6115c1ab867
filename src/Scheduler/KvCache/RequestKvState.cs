namespace Serving.Scheduler.KvCache;

/// <summary>What the KV cache manager keeps per request: its blocks in order (also as the int block table the runner
/// reads, so building a step copies no lists), the token ids whose slots it holds, and the chained hash of each of
/// its full blocks (the parent of the next block's hash, whether or not that block made it into the cache).</summary>
internal sealed class RequestKvState
{
    public List<KvCacheBlock> Blocks { get; } = [];

    public List<int> BlockTable { get; } = [];

    public List<int> Tokens { get; } = [];

    public List<BlockHash> FullBlockHashes { get; } = [];

    public void AddBlock(KvCacheBlock block)
    {
        Blocks.Add(block);
        BlockTable.Add(block.Id);
    }

    public void ReplaceLastBlock(KvCacheBlock block)
    {
        Blocks[^1] = block;
        BlockTable[^1] = block.Id;
    }

    /// <summary>A copy sharing the same blocks (the caller adds the references).</summary>
    public RequestKvState Clone()
    {
        var copy = new RequestKvState();
        copy.Blocks.AddRange(Blocks);
        copy.BlockTable.AddRange(BlockTable);
        copy.Tokens.AddRange(Tokens);
        copy.FullBlockHashes.AddRange(FullBlockHashes);
        return copy;
    }
}
