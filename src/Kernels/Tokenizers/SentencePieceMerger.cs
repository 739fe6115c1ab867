namespace Serving.Kernels.Tokenizers;

/// <summary>One symbol of a word being merged: a stretch of the normalized text, linked to its neighbours.
/// Merging empties the right symbol into the left, so the first symbol always survives.</summary>
internal struct Symbol
{
    public int Start;
    public int Length;
    public int Prev;
    public int Next;
}

/// <summary>SentencePiece's BPE: repeatedly merge the adjacent pair whose concatenation is the vocabulary piece
/// with the highest score, ties to the leftmost pair (sentencepiece bpe_model.cc, llama.cpp llm_tokenizer_spm and
/// run.c's linear scan all pick the same pair). A priority queue with stale-entry skipping keeps it O(n log n).</summary>
internal sealed class SentencePieceMerger
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieces;
    private readonly float[] _scores;

    /// <summary>Creates the merger over the mergeable pieces (text → id) and every id's score.</summary>
    public SentencePieceMerger(Dictionary<string, int> pieces, float[] scores)
    {
        _pieces = pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        _scores = scores;
    }

    /// <summary>The id of a mergeable piece, or -1.</summary>
    public int Find(ReadOnlySpan<char> piece) => _pieces.TryGetValue(piece, out var id) ? id : -1;

    /// <summary>Merges <paramref name="symbols"/> (initially one per character of <paramref name="text"/>) in
    /// place; afterwards follow <see cref="Symbol.Next"/> from index 0.</summary>
    public void Merge(ReadOnlySpan<char> text, Span<Symbol> symbols)
    {
        var queue = new PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)>(
            symbols.Length, BigramOrder.Instance);
        for (var i = 1; i < symbols.Length; i++)
        {
            TryAdd(queue, text, symbols, i - 1, i);
        }

        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref symbols[bigram.Left];
            ref var right = ref symbols[bigram.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Length)
            {
                continue;
            }

            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (left.Next >= 0)
            {
                symbols[left.Next].Prev = bigram.Left;
                TryAdd(queue, text, symbols, bigram.Left, left.Next);
            }

            if (left.Prev >= 0)
            {
                TryAdd(queue, text, symbols, left.Prev, bigram.Left);
            }
        }
    }

    private void TryAdd(PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)> queue,
        ReadOnlySpan<char> text, Span<Symbol> symbols, int left, int right)
    {
        var length = symbols[left].Length + symbols[right].Length;
        if (_pieces.TryGetValue(text.Slice(symbols[left].Start, length), out var id))
        {
            queue.Enqueue((left, right, length), (_scores[id], left));
        }
    }

    /// <summary>Highest score first; equal scores by leftmost position.</summary>
    private sealed class BigramOrder : IComparer<(float Score, int Left)>
    {
        public static readonly BigramOrder Instance = new();

        public int Compare((float Score, int Left) x, (float Score, int Left) y)
        {
            var byScore = y.Score.CompareTo(x.Score);
            return byScore != 0 ? byScore : x.Left.CompareTo(y.Left);
        }
    }
}
