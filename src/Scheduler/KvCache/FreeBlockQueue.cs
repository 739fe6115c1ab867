namespace Serving.Scheduler.KvCache;

/// <summary>
/// Free blocks in least-recently-used order: blocks are freed to the tail and taken from the head, so the cached
/// block that was released longest ago is the first to be evicted. Links live in the blocks (intrusive), so push,
/// pop and removal from the middle are O(1) and allocate nothing.
/// </summary>
internal sealed class FreeBlockQueue
{
    private KvCacheBlock? _head;
    private KvCacheBlock? _tail;

    /// <summary>Number of blocks in the queue.</summary>
    public int Count { get; private set; }

    /// <summary>Appends <paramref name="block"/> at the tail (most recently used end).</summary>
    public void PushTail(KvCacheBlock block)
    {
        if (block.IsFree)
        {
            throw new InvalidOperationException($"{block} is already in the free queue");
        }

        block.Previous = _tail;
        block.Next = null;
        if (_tail is null)
        {
            _head = block;
        }
        else
        {
            _tail.Next = block;
        }

        _tail = block;
        block.IsFree = true;
        Count++;
    }

    /// <summary>Removes and returns the head (least recently used) block.</summary>
    public KvCacheBlock PopHead()
    {
        var block = _head ?? throw new InvalidOperationException("the free queue is empty");
        Remove(block);
        return block;
    }

    /// <summary>Unlinks <paramref name="block"/>, wherever it is in the queue.</summary>
    public void Remove(KvCacheBlock block)
    {
        if (!block.IsFree)
        {
            throw new InvalidOperationException($"{block} is not in the free queue");
        }

        if (block.Previous is null)
        {
            _head = block.Next;
        }
        else
        {
            block.Previous.Next = block.Next;
        }

        if (block.Next is null)
        {
            _tail = block.Previous;
        }
        else
        {
            block.Next.Previous = block.Previous;
        }

        block.Previous = null;
        block.Next = null;
        block.IsFree = false;
        Count--;
    }

    /// <summary>The blocks from head to tail (for checks and tests; walks the links).</summary>
    public IEnumerable<KvCacheBlock> HeadToTail()
    {
        for (var block = _head; block is not null; block = block.Next)
        {
            yield return block;
        }
    }
}
