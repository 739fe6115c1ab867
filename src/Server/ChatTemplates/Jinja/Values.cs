namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Python semantics of plain values: truthiness, equality, ordering, iteration and type names. Runtime
/// values are null (None), bool, long, double, string, <see cref="IReadOnlyList{T}"/> (list; <see cref="PyTuple"/>
/// for tuples), <see cref="IReadOnlyDictionary{TKey, TValue}"/> (dict), <see cref="Undefined"/>,
/// <see cref="Namespace"/>, <see cref="LoopObject"/>, <see cref="Macro"/> and <see cref="BuiltinFunction"/>.</summary>
internal static class Values
{
    /// <summary>Brings caller-supplied numbers to the two numeric types the interpreter computes with.</summary>
    public static object? Normalize(object? value) => value switch
    {
        int i => (object)(long)i,
        short s => (long)s,
        byte b => (long)b,
        sbyte b => (long)b,
        uint u => (long)u,
        ushort u => (long)u,
        ulong u when u <= long.MaxValue => (long)u,
        float f => (double)f,
        decimal d => (double)d,
        _ => value,
    };

    public static bool IsTruthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        Undefined => false,
        IReadOnlyList<object?> list => list.Count > 0,
        IReadOnlyDictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        PyTuple => "tuple",
        IReadOnlyList<object?> => "list",
        IReadOnlyDictionary<string, object?> => "dict",
        Undefined => "Undefined",
        Namespace => "Namespace",
        LoopObject => "LoopContext",
        Macro => "Macro",
        BuiltinFunction => "builtin_function_or_method",
        _ => value.GetType().Name,
    };

    public static bool IsNumber(object? value) => value is bool or long or double;

    public static bool AreEqual(object? a, object? b)
    {
        a = Normalize(a);
        b = Normalize(b);
        switch (a)
        {
            case null:
                return b is null;
            case string sa:
                return b is string sb && sa == sb;
            case bool or long or double when IsNumber(b):
                return a is double || b is double ? ToDouble(a) == ToDouble(b) : ToLong(a) == ToLong(b);
            case Undefined:
                return b is Undefined;
            case PyTuple ta:
                return b is PyTuple tb && SequenceEquals(ta, tb);
            case IReadOnlyList<object?> la:
                return b is IReadOnlyList<object?> lb and not PyTuple && SequenceEquals(la, lb);
            case IReadOnlyDictionary<string, object?> da:
                if (b is not IReadOnlyDictionary<string, object?> db || da.Count != db.Count)
                {
                    return false;
                }

                foreach (var (key, value) in da)
                {
                    if (!db.TryGetValue(key, out var other) || !AreEqual(value, other))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return ReferenceEquals(a, b) || a.Equals(b);
        }
    }

    private static bool SequenceEquals(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!AreEqual(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Python's ordering: numbers with numbers, strings by code point, sequences element by element.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        a = Normalize(a);
        b = Normalize(b);
        if (IsNumber(a) && IsNumber(b))
        {
            return a is double || b is double ? ToDouble(a).CompareTo(ToDouble(b)) : ToLong(a).CompareTo(ToLong(b));
        }

        if (a is string sa && b is string sb)
        {
            return string.CompareOrdinal(sa, sb);
        }

        if (a is IReadOnlyList<object?> la && b is IReadOnlyList<object?> lb && (a is PyTuple) == (b is PyTuple))
        {
            for (var i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                if (!AreEqual(la[i], lb[i]))
                {
                    return Compare(la[i], lb[i], op);
                }
            }

            return la.Count.CompareTo(lb.Count);
        }

        if (a is Undefined ua)
        {
            throw ua.Error();
        }

        if (b is Undefined ub)
        {
            throw ub.Error();
        }

        throw new ChatTemplateException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    public static long ToLong(object? value) => value switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        double d => (long)d,
        _ => throw new ChatTemplateException($"expected a number, got '{TypeName(value)}'"),
    };

    public static double ToDouble(object? value) => value switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        double d => d,
        _ => throw new ChatTemplateException($"expected a number, got '{TypeName(value)}'"),
    };

    /// <summary>The items <c>for</c> visits: a list's elements, a dict's keys, a string's characters; nothing for
    /// Undefined.</summary>
    public static IReadOnlyList<object?> Iterate(object? value) => value switch
    {
        Undefined => [],
        string s => StringChars(s),
        IReadOnlyList<object?> list => list,
        IReadOnlyDictionary<string, object?> dict => dict.Keys.Cast<object?>().ToList(),
        _ => throw new ChatTemplateException($"'{TypeName(value)}' object is not iterable"),
    };

    public static bool IsIterable(object? value) => value is Undefined or string or IReadOnlyList<object?> or IReadOnlyDictionary<string, object?>;

    /// <summary>A string's characters as Python sees them: whole code points, so a surrogate pair is one item.</summary>
    public static List<object?> StringChars(string s)
    {
        var chars = new List<object?>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                chars.Add(s.Substring(i++, 2));
            }
            else
            {
                chars.Add(s[i].ToString());
            }
        }

        return chars;
    }

    public static long Length(object? value) => value switch
    {
        Undefined => 0,
        string s => StringChars(s).Count,
        IReadOnlyList<object?> list => list.Count,
        IReadOnlyDictionary<string, object?> dict => dict.Count,
        _ => throw new ChatTemplateException($"object of type '{TypeName(value)}' has no len()"),
    };

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is string sub)
                {
                    return s.Contains(sub, StringComparison.Ordinal);
                }

                throw new ChatTemplateException($"'in <string>' requires string as left operand, not {TypeName(item)}");
            case IReadOnlyDictionary<string, object?> dict:
                return item is string key && dict.ContainsKey(key);
            case Undefined:
                return false;
            case IReadOnlyList<object?> list:
                foreach (var element in list)
                {
                    if (AreEqual(element, item))
                    {
                        return true;
                    }
                }

                return false;
            default:
                throw new ChatTemplateException($"argument of type '{TypeName(container)}' is not iterable");
        }
    }
}
