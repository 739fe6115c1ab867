namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Attribute and item access with jinja2's sandboxed rules: <c>a.b</c> tries the attribute (a method of
/// str, dict or list) and then the item; <c>a['b']</c> tries the item and then the attribute; what is missing is
/// an <see cref="Undefined"/> naming the owner. Methods that mutate are unsafe and fail when used.</summary>
internal static class Members
{
    public static object? GetAttribute(object? target, string name)
    {
        target = Values.Normalize(target);
        switch (target)
        {
            case Undefined u:
                throw u.Error();
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out var attribute) ? attribute : Undefined.Member(target, name);
            case LoopObject loop:
                return loop.Get(name);
        }

        var method = Method(target, name);
        if (method is not null)
        {
            return method;
        }

        return target is IReadOnlyDictionary<string, object?> dict && dict.TryGetValue(name, out var value)
            ? Values.Normalize(value)
            : Undefined.Member(target, name);
    }

    public static object? GetItem(object? target, object? key)
    {
        target = Values.Normalize(target);
        key = Values.Normalize(key);
        switch (target)
        {
            case Undefined u:
                throw u.Error();
            case IReadOnlyDictionary<string, object?> dict when key is string k && dict.TryGetValue(k, out var value):
                return Values.Normalize(value);
            case IReadOnlyList<object?> list when key is long or bool:
                var index = Values.ToLong(key);
                if (index < 0)
                {
                    index += list.Count;
                }

                if (index >= 0 && index < list.Count)
                {
                    return Values.Normalize(list[(int)index]);
                }

                break;
            case string s when key is long or bool:
                var chars = Values.StringChars(s);
                var at = Values.ToLong(key);
                if (at < 0)
                {
                    at += chars.Count;
                }

                if (at >= 0 && at < chars.Count)
                {
                    return chars[(int)at];
                }

                break;
            case Namespace or LoopObject when key is string attribute:
                return GetAttribute(target, attribute);
        }

        if (key is string name)
        {
            var method = Method(target, name);
            if (method is not null)
            {
                return method;
            }
        }

        return Undefined.Member(target, key);
    }

    /// <summary>A slice, which jinja2 compiles to a plain Python subscript: unlike item access, a value that
    /// cannot be sliced is an error rather than undefined.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        target = Values.Normalize(target);
        var stepValue = step is null ? 1 : Values.ToLong(Values.Normalize(step));
        if (stepValue == 0)
        {
            throw new ChatTemplateException("slice step cannot be zero");
        }

        IReadOnlyList<object?> items = target switch
        {
            string s => Values.StringChars(s),
            IReadOnlyList<object?> list => list,
            Undefined u => throw u.Error(),
            IReadOnlyDictionary<string, object?> => throw new ChatTemplateException("unhashable type: 'slice'"),
            _ => throw new ChatTemplateException($"'{Values.TypeName(target)}' object is not subscriptable"),
        };

        var count = (long)items.Count;
        long Bound(object? value, long fallback, long low, long high)
        {
            if (value is null)
            {
                return fallback;
            }

            var v = Values.ToLong(Values.Normalize(value));
            if (v < 0)
            {
                v += count;
            }

            return Math.Clamp(v, low, high);
        }

        var result = new List<object?>();
        if (stepValue > 0)
        {
            var from = Bound(start, 0, 0, count);
            var to = Bound(stop, count, 0, count);
            for (var i = from; i < to; i += stepValue)
            {
                result.Add(items[(int)i]);
            }
        }
        else
        {
            var from = Bound(start, count - 1, -1, count - 1);
            var to = Bound(stop, -1, -1, count - 1);
            for (var i = from; i > to; i += stepValue)
            {
                result.Add(items[(int)i]);
            }
        }

        return target switch
        {
            string => string.Concat(result.Cast<string>()),
            PyTuple => new PyTuple([.. result]),
            _ => result,
        };
    }

    private static object? Method(object? target, string name) => target switch
    {
        string s => StringMethods.Bind(s, name),
        IReadOnlyDictionary<string, object?> dict => CollectionMethods.Bind(dict, name),
        IReadOnlyList<object?> list => CollectionMethods.Bind(list, name),
        _ => null,
    };
}
