namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>The <c>loop</c> variable inside a <c>for</c> body.</summary>
internal sealed class LoopObject(IReadOnlyList<object?> items)
{
    public int Index0 { get; set; }

    public object? Get(string name) => name switch
    {
        "index" => (long)Index0 + 1,
        "index0" => (long)Index0,
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : Undefined.WithHint("there is no previous item"),
        "nextitem" => Index0 + 1 < items.Count ? items[Index0 + 1] : Undefined.WithHint("there is no next item"),
        "cycle" => new BuiltinFunction("cycle", Cycle),
        _ => Undefined.Member(this, name),
    };

    private object? Cycle(Arguments args)
    {
        if (args.Positional.Count == 0)
        {
            throw new ChatTemplateException("no items for cycling given");
        }

        return args.Positional[Index0 % args.Positional.Count];
    }
}
