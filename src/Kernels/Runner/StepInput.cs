namespace Serving.Kernels.Runner;

/// <summary>
/// What one engine step asks the model runner to compute, flattened the way vLLM's model input is: every sequence
/// brings any number of new tokens (1 to decode, a chunk to prefill, k+1 to verify drafts) on top of what its block
/// table already caches. Buffers are allocated once with fixed capacity and reused every step.
/// </summary>
public sealed class StepInput
{
    private readonly int[] _tokenIds;
    private readonly int[] _positions;
    private readonly int[] _slotMapping;
    private readonly int[] _tokenSequence;
    private readonly int[] _queryStart;
    private readonly int[] _contextLength;
    private readonly int[] _blockTables;
    private readonly int[] _logitsRows;

    /// <summary>Creates buffers for up to <paramref name="maxTokens"/> tokens in
    /// <paramref name="maxSequences"/> sequences of at most <paramref name="maxBlocksPerSequence"/> blocks.</summary>
    public StepInput(int maxTokens, int maxSequences, int maxBlocksPerSequence, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBlocksPerSequence, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        MaxTokens = maxTokens;
        MaxSequences = maxSequences;
        MaxBlocksPerSequence = maxBlocksPerSequence;
        BlockSize = blockSize;
        _tokenIds = new int[maxTokens];
        _positions = new int[maxTokens];
        _slotMapping = new int[maxTokens];
        _tokenSequence = new int[maxTokens];
        _logitsRows = new int[maxTokens];
        _queryStart = new int[maxSequences + 1];
        _contextLength = new int[maxSequences];
        _blockTables = new int[maxSequences * maxBlocksPerSequence];
    }

    /// <summary>Token capacity.</summary>
    public int MaxTokens { get; }

    /// <summary>Sequence capacity.</summary>
    public int MaxSequences { get; }

    /// <summary>Block-table width.</summary>
    public int MaxBlocksPerSequence { get; }

    /// <summary>Token slots per KV block.</summary>
    public int BlockSize { get; }

    /// <summary>New tokens in this step, over all sequences.</summary>
    public int TokenCount { get; private set; }

    /// <summary>Sequences in this step.</summary>
    public int SequenceCount { get; private set; }

    /// <summary>Rows (token indices) whose logits the caller wants, in output order.</summary>
    public int LogitsRowCount { get; private set; }

    /// <summary>Token ids of the new tokens.</summary>
    public ReadOnlySpan<int> TokenIds => _tokenIds.AsSpan(0, TokenCount);

    /// <summary>Absolute position of each new token in its sequence.</summary>
    public ReadOnlySpan<int> Positions => _positions.AsSpan(0, TokenCount);

    /// <summary>KV-cache slot (block × blockSize + offset) each new token's K/V is written to.</summary>
    public ReadOnlySpan<int> SlotMapping => _slotMapping.AsSpan(0, TokenCount);

    /// <summary>Index of the sequence each new token belongs to.</summary>
    public ReadOnlySpan<int> TokenSequence => _tokenSequence.AsSpan(0, TokenCount);

    /// <summary>Token indices whose logits are returned, in the order of the logits rows.</summary>
    public ReadOnlySpan<int> LogitsRows => _logitsRows.AsSpan(0, LogitsRowCount);

    /// <summary>First new-token index of each sequence (length SequenceCount + 1).</summary>
    public ReadOnlySpan<int> QueryStart => _queryStart.AsSpan(0, SequenceCount + 1);

    /// <summary>Tokens cached for each sequence once this step has run (its last new position + 1).</summary>
    public ReadOnlySpan<int> ContextLengths => _contextLength.AsSpan(0, SequenceCount);

    /// <summary>The block table of sequence <paramref name="sequence"/> (MaxBlocksPerSequence entries; only the
    /// first ceil(context / blockSize) are meaningful).</summary>
    public ReadOnlySpan<int> BlockTable(int sequence) =>
        _blockTables.AsSpan(sequence * MaxBlocksPerSequence, MaxBlocksPerSequence);

    /// <summary>Empties the step for reuse.</summary>
    public void Clear()
    {
        TokenCount = 0;
        SequenceCount = 0;
        LogitsRowCount = 0;
    }

    /// <summary>
    /// Adds a sequence whose <paramref name="newTokens"/> sit at positions <paramref name="startPosition"/>… on top
    /// of <paramref name="startPosition"/> cached tokens, stored through <paramref name="blockTable"/>. Logits are
    /// returned for its last <paramref name="logitsCount"/> new tokens (0 for a prefill chunk that is not the last).
    /// </summary>
    /// <returns>The index of the first logits row of this sequence.</returns>
    public int AddSequence(ReadOnlySpan<int> newTokens, int startPosition, ReadOnlySpan<int> blockTable, int logitsCount)
    {
        if (newTokens.IsEmpty)
        {
            throw new ArgumentException("a sequence in a step needs at least one new token", nameof(newTokens));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(startPosition);
        ArgumentOutOfRangeException.ThrowIfNegative(logitsCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(logitsCount, newTokens.Length);
        if (SequenceCount == MaxSequences)
        {
            throw new InvalidOperationException($"the step already holds its maximum of {MaxSequences} sequences");
        }

        if (TokenCount + newTokens.Length > MaxTokens)
        {
            throw new InvalidOperationException($"the step holds {TokenCount} tokens; {newTokens.Length} more exceed its capacity of {MaxTokens}");
        }

        var contextLength = startPosition + newTokens.Length;
        var blocksNeeded = (contextLength + BlockSize - 1) / BlockSize;
        if (blockTable.Length < blocksNeeded || blocksNeeded > MaxBlocksPerSequence)
        {
            throw new ArgumentException($"a context of {contextLength} tokens needs {blocksNeeded} blocks; the block table has {blockTable.Length} (capacity {MaxBlocksPerSequence})", nameof(blockTable));
        }

        var sequence = SequenceCount;
        blockTable[..blocksNeeded].CopyTo(_blockTables.AsSpan(sequence * MaxBlocksPerSequence));
        _queryStart[sequence] = TokenCount;
        _contextLength[sequence] = contextLength;
        for (var i = 0; i < newTokens.Length; i++)
        {
            var position = startPosition + i;
            var t = TokenCount + i;
            _tokenIds[t] = newTokens[i];
            _positions[t] = position;
            _slotMapping[t] = (blockTable[position / BlockSize] * BlockSize) + (position % BlockSize);
            _tokenSequence[t] = sequence;
        }

        var firstLogitsRow = LogitsRowCount;
        for (var i = newTokens.Length - logitsCount; i < newTokens.Length; i++)
        {
            _logitsRows[LogitsRowCount++] = TokenCount + i;
        }

        TokenCount += newTokens.Length;
        SequenceCount++;
        _queryStart[SequenceCount] = TokenCount;
        return firstLogitsRow;
    }
}
