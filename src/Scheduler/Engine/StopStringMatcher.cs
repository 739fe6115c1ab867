namespace Serving.Scheduler.Engine;

/// <summary>
/// Finds stop strings in streamed text, also when one spans several tokens. Text that could still be the start of a
/// stop string is held back; when a stop string appears, only the text before it is released and the stop text is
/// never emitted.
/// </summary>
internal sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    private readonly int _longest = stops.Count == 0 ? 0 : stops.Max(s => s.Length);
    private string _held = string.Empty;

    /// <summary>Adds streamed text; returns the text that can be released now, and whether a stop string ended it.</summary>
    public (string Release, bool Stopped) Add(string text)
    {
        if (stops.Count == 0)
        {
            return (text, false);
        }

        var buffer = _held + text;
        var earliest = -1;
        foreach (var stop in stops)
        {
            var at = buffer.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
            {
                earliest = at;
            }
        }

        if (earliest >= 0)
        {
            _held = string.Empty;
            return (buffer[..earliest], true);
        }

        var keep = HeldSuffix(buffer);
        _held = buffer[^keep..];
        return (buffer[..^keep], false);
    }

    /// <summary>At the end of generation: the held-back text, which turned out not to start a stop string.</summary>
    public string Flush()
    {
        var held = _held;
        _held = string.Empty;
        return held;
    }

    /// <summary>Length of the longest suffix of <paramref name="buffer"/> that is a proper prefix of a stop string.</summary>
    private int HeldSuffix(string buffer)
    {
        for (var length = Math.Min(_longest - 1, buffer.Length); length > 0; length--)
        {
            var suffix = buffer.AsSpan(buffer.Length - length);
            foreach (var stop in stops)
            {
                if (stop.AsSpan().StartsWith(suffix, StringComparison.Ordinal))
                {
                    return length;
                }
            }
        }

        return 0;
    }
}
