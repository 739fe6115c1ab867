namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>The non-mutating dict and list methods templates call (<c>message.get('tool_calls')</c>,
/// <c>spec.properties.items()</c>). Mutating ones resolve, as in jinja2's immutable sandbox, to an undefined value
/// that fails with the sandbox's message when called.</summary>
internal static class CollectionMethods
{
    private static readonly string[] UnsafeDictMethods = ["clear", "pop", "popitem", "setdefault", "update"];
    private static readonly string[] UnsafeListMethods = ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"];

    public static object? Bind(IReadOnlyDictionary<string, object?> dict, string name)
    {
        if (UnsafeDictMethods.Contains(name))
        {
            return Unsafe(name, "dict");
        }

        Func<Arguments, object?>? method = name switch
        {
            "items" => _ => dict.Select(p => (object?)new PyTuple([p.Key, Values.Normalize(p.Value)])).ToList(),
            "keys" => _ => dict.Keys.Cast<object?>().ToList(),
            "values" => _ => dict.Values.Select(Values.Normalize).ToList(),
            "get" => a => a.Get(0, "key") is string key && dict.TryGetValue(key, out var value) ? Values.Normalize(value) : a.Get(1, "default"),
            "copy" => _ => new Dictionary<string, object?>(dict),
            _ => null,
        };
        return method is null ? null : new BuiltinFunction(name, method);
    }

    public static object? Bind(IReadOnlyList<object?> list, string name)
    {
        if (UnsafeListMethods.Contains(name))
        {
            return Unsafe(name, list is PyTuple ? "tuple" : "list");
        }

        Func<Arguments, object?>? method = name switch
        {
            "index" => a => IndexOf(list, a.Get(0, "value")),
            "count" => a => (long)list.Count(item => Values.AreEqual(item, a.Get(0, "value"))),
            "copy" => _ => list.ToList(),
            _ => null,
        };
        return method is null ? null : new BuiltinFunction(name, method);
    }

    private static long IndexOf(IReadOnlyList<object?> list, object? value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (Values.AreEqual(list[i], value))
            {
                return i;
            }
        }

        throw new ChatTemplateException($"{Repr.Of(value)} is not in list");
    }

    private static Undefined Unsafe(string name, string type) =>
        Undefined.WithHint($"access to attribute '{name}' of '{type}' object is unsafe.");
}
