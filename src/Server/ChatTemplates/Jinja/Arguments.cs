namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Evaluated call arguments, read Python-style: by position or by keyword.</summary>
internal sealed class Arguments(IReadOnlyList<object?> positional, IReadOnlyList<KeyValuePair<string, object?>> named)
{
    public static readonly Arguments Empty = new([], []);

    public IReadOnlyList<object?> Positional { get; } = positional;

    public IReadOnlyList<KeyValuePair<string, object?>> Named { get; } = named;

    /// <summary>The argument at <paramref name="position"/> or named <paramref name="name"/>, else
    /// <paramref name="fallback"/>.</summary>
    public object? Get(int position, string name, object? fallback = null)
    {
        if (position >= 0 && position < Positional.Count)
        {
            return Positional[position];
        }

        foreach (var (key, value) in Named)
        {
            if (key == name)
            {
                return value;
            }
        }

        return fallback;
    }

    public bool Has(int position, string name)
    {
        if (position >= 0 && position < Positional.Count)
        {
            return true;
        }

        foreach (var pair in Named)
        {
            if (pair.Key == name)
            {
                return true;
            }
        }

        return false;
    }

    public Arguments Skip(int count) => new(Positional.Skip(count).ToList(), Named);
}
