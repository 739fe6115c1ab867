namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>jinja2's default Undefined: renders as nothing, is falsy, iterates as empty and has length 0, but any
/// attribute or item access, arithmetic or call raises the error jinja2 would name.</summary>
internal sealed class Undefined
{
    private readonly string? _hint;
    private readonly bool _hasOwner;
    private readonly object? _owner;
    private readonly object? _name;

    private Undefined(string? hint, bool hasOwner, object? owner, object? name)
    {
        _hint = hint;
        _hasOwner = hasOwner;
        _owner = owner;
        _name = name;
    }

    /// <summary>A variable that no scope defines.</summary>
    public static Undefined Variable(string name) => new(null, false, null, name);

    /// <summary>A missing attribute or item of <paramref name="owner"/>.</summary>
    public static Undefined Member(object? owner, object? name) => new(null, true, owner, name);

    public static Undefined WithHint(string hint) => new(hint, false, null, null);

    public string Message
    {
        get
        {
            if (_hint is not null)
            {
                return _hint;
            }

            if (!_hasOwner)
            {
                return $"{Repr.Of(_name)} is undefined";
            }

            return _name is string
                ? $"{Repr.Of(Repr.ObjectType(_owner))} has no attribute {Repr.Of(_name)}"
                : $"{Repr.ObjectType(_owner)} has no element {Repr.Of(_name)}";
        }
    }

    public ChatTemplateException Error() => new(Message);
}
