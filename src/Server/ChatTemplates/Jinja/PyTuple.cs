using System.Collections;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>A Python tuple: a list that prints with parentheses and never equals a list.</summary>
internal sealed class PyTuple(object?[] items) : IReadOnlyList<object?>
{
    public object? this[int index] => items[index];

    public int Count => items.Length;

    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
