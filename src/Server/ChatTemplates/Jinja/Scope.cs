namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>A frame of variables. <c>for</c> iterations and macro calls get a child frame, so that (as in jinja2)
/// a <c>set</c> inside them is not seen outside, while <c>if</c> bodies share their parent's frame.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public object? Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out var value))
            {
                return value;
            }
        }

        return Undefined.Variable(name);
    }

    public Scope? Parent { get; } = parent;

    public void Set(string name, object? value) => _variables[name] = value;
}
