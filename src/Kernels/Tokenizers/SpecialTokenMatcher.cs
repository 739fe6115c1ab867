namespace Serving.Kernels.Tokenizers;

/// <summary>Finds special and user-defined tokens written literally in text: the leftmost occurrence wins, and
/// at one position the longest token wins (Hugging Face's added-token matching).</summary>
internal sealed class SpecialTokenMatcher
{
    private readonly Dictionary<char, (string Text, int Id)[]> _byFirstChar;

    /// <summary>Builds the matcher from (literal text, id) pairs; empty texts are ignored and for duplicate texts
    /// the first id wins.</summary>
    public SpecialTokenMatcher(IEnumerable<(string Text, int Id)> tokens)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var groups = new Dictionary<char, List<(string Text, int Id)>>();
        foreach (var (text, id) in tokens)
        {
            if (text.Length == 0 || !seen.Add(text))
            {
                continue;
            }

            if (!groups.TryGetValue(text[0], out var list))
            {
                list = [];
                groups.Add(text[0], list);
            }

            list.Add((text, id));
        }

        _byFirstChar = new Dictionary<char, (string Text, int Id)[]>(groups.Count);
        foreach (var (first, list) in groups)
        {
            list.Sort(static (a, b) => b.Text.Length.CompareTo(a.Text.Length));
            _byFirstChar.Add(first, [.. list]);
        }
    }

    /// <summary>Whether there is nothing to match.</summary>
    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Finds the first special token in <paramref name="text"/> at or after <paramref name="from"/>.
    /// Returns its position (or -1) and sets its length and id.</summary>
    public int FindNext(ReadOnlySpan<char> text, int from, out int length, out int id)
    {
        for (var i = from; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates))
            {
                continue;
            }

            var rest = text[i..];
            foreach (var (candidate, candidateId) in candidates)
            {
                if (rest.StartsWith(candidate, StringComparison.Ordinal))
                {
                    length = candidate.Length;
                    id = candidateId;
                    return i;
                }
            }
        }

        length = 0;
        id = -1;
        return -1;
    }
}
