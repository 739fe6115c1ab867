using System.Globalization;
using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>jinja2's built-in filters with their Python semantics, and transformers' <c>tojson</c> (Python
/// <c>json.dumps</c> with ensure_ascii off instead of jinja2's HTML-safe one).</summary>
internal static class JinjaFilters
{
    private static readonly Dictionary<string, Func<object?, Arguments, object?>> All = new(StringComparer.Ordinal)
    {
        ["abs"] = (v, _) => v switch
        {
            long l => (object)(l == long.MinValue ? throw new ChatTemplateException("integer overflow") : Math.Abs(l)),
            double d => Math.Abs(d),
            bool b => b ? 1L : 0L,
            _ => throw new ChatTemplateException($"bad operand type for abs(): '{Values.TypeName(v)}'"),
        },
        ["attr"] = (v, a) => Members.GetAttribute(v, a.Get(0, "name") as string ?? string.Empty),
        ["batch"] = Batch,
        ["capitalize"] = (v, _) => StringMethods.Capitalize(Repr.Str(v)),
        ["center"] = (v, a) => StringMethods.Center(Repr.Str(v), (int)Math.Min(Values.ToLong(a.Get(0, "width", 80L)), 1_000_000), " "),
        ["count"] = (v, _) => Values.Length(v),
        ["default"] = Default,
        ["dictsort"] = DictSort,
        ["escape"] = (v, _) => Escape(Repr.Str(v)),
        ["first"] = (v, _) => Values.Iterate(v) is { Count: > 0 } items ? items[0] : Undefined.WithHint("No first item, sequence was empty."),
        ["float"] = (v, a) => ToFloat(Defined(v), a.Get(0, "default", 0.0)),
        ["forceescape"] = (v, _) => Escape(Repr.Str(v)),
        ["format"] = (v, a) => StringFormatting.Percent(Repr.Str(v), a.Named.Count > 0 ? a.Named.ToDictionary(p => p.Key, p => p.Value) : new PyTuple([.. a.Positional])),
        ["indent"] = Indent,
        ["int"] = (v, a) => ToInt(Defined(v), a.Get(0, "default", 0L), Values.ToLong(a.Get(1, "base", 10L))),
        ["items"] = (v, _) => v switch
        {
            Undefined => new List<object?>(),
            IReadOnlyDictionary<string, object?> dict => CollectionMethods.Bind(dict, "items") is BuiltinFunction f ? f.Invoke(Arguments.Empty) : null,
            _ => throw new ChatTemplateException("Can only get item pairs from a mapping."),
        },
        ["join"] = Join,
        ["last"] = (v, _) => Values.Iterate(v) is { Count: > 0 } items ? items[^1] : Undefined.WithHint("No last item, sequence was empty."),
        ["length"] = (v, _) => Values.Length(v),
        ["list"] = (v, _) => Values.Iterate(v).ToList(),
        ["lower"] = (v, _) => Repr.Str(v).ToLowerInvariant(),
        ["map"] = Map,
        ["max"] = (v, a) => Extreme(v, a, max: true),
        ["min"] = (v, a) => Extreme(v, a, max: false),
        ["reject"] = (v, a) => Select(v, a, attribute: false, keep: false),
        ["rejectattr"] = (v, a) => Select(v, a, attribute: true, keep: false),
        ["replace"] = (v, a) => StringMethods.Replace(Repr.Str(v), Repr.Str(a.Get(0, "old")), Repr.Str(a.Get(1, "new")), a.Get(2, "count") is null ? -1 : Values.ToLong(a.Get(2, "count"))),
        ["reverse"] = (v, _) => v is string s ? string.Concat(Values.StringChars(s).Cast<string>().Reverse()) : Values.Iterate(v).Reverse().ToList(),
        ["round"] = Round,
        ["safe"] = (v, _) => v,
        ["select"] = (v, a) => Select(v, a, attribute: false, keep: true),
        ["selectattr"] = (v, a) => Select(v, a, attribute: true, keep: true),
        ["sort"] = Sort,
        ["string"] = (v, _) => Repr.Str(v),
        ["sum"] = Sum,
        ["title"] = (v, _) => Title(Repr.Str(v)),
        ["tojson"] = Json.Dumps,
        ["trim"] = (v, a) => StringMethods.Strip(Repr.Str(v), a.Get(0, "chars"), true, true),
        ["unique"] = Unique,
        ["upper"] = (v, _) => Repr.Str(v).ToUpperInvariant(),
        ["wordcount"] = (v, _) => (long)WordCount(Repr.Str(v)),
    };

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["d"] = "default",
        ["e"] = "escape",
    };

    public static bool Exists(string name) => All.ContainsKey(name) || Aliases.ContainsKey(name);

    public static object? Apply(string name, object? value, Arguments args)
    {
        if (!All.TryGetValue(Aliases.GetValueOrDefault(name, name), out var filter))
        {
            throw new ChatTemplateException($"No filter named '{name}'.");
        }

        return filter(Values.Normalize(value), args);
    }

    /// <summary>Filters that convert with Python's int(), float() or dict methods fail on Undefined, as it does
    /// not implement those conversions.</summary>
    private static object? Defined(object? value) => value is Undefined u ? throw u.Error() : value;

    private static object? Default(object? value, Arguments a)
    {
        var fallback = a.Get(0, "default_value", string.Empty);
        var boolean = Values.IsTruthy(a.Get(1, "boolean", false));
        return value is Undefined || (boolean && !Values.IsTruthy(value)) ? fallback : value;
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&#34;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        }

        return sb.ToString();
    }

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var wordStart = true;
        foreach (var c in s)
        {
            var separator = PythonChars.IsSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            wordStart = separator;
        }

        return sb.ToString();
    }

    private static int WordCount(string s)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in s)
        {
            var word = char.IsLetterOrDigit(c) || c == '_';
            if (word && !inWord)
            {
                count++;
            }

            inWord = word;
        }

        return count;
    }

    private static object? ToInt(object? value, object? fallback, long numberBase)
    {
        switch (value)
        {
            case long or bool:
                return Values.ToLong(value);
            case double d:
                return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                var text = PythonChars.Strip(s).Replace("_", string.Empty, StringComparison.Ordinal);
                if (numberBase == 10 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
                {
                    return parsed;
                }

                if (numberBase != 10)
                {
                    try
                    {
                        return Convert.ToInt64(text, (int)numberBase);
                    }
                    catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                    {
                        return fallback;
                    }
                }

                return ToFloat(text, null) is double f && double.IsFinite(f) ? (long)Math.Truncate(f) : fallback;
            default:
                return fallback;
        }
    }

    private static object? ToFloat(object? value, object? fallback) => value switch
    {
        long or bool => Values.ToDouble(value),
        double d => d,
        string s when PythonChars.Strip(s).ToLowerInvariant() is var t && t is "inf" or "+inf" or "infinity" or "+infinity" => double.PositiveInfinity,
        string s when PythonChars.Strip(s).ToLowerInvariant() is "-inf" or "-infinity" => double.NegativeInfinity,
        string s when PythonChars.Strip(s).ToLowerInvariant() is "nan" or "+nan" or "-nan" => double.NaN,
        string s when double.TryParse(PythonChars.Strip(s).Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => fallback,
    };

    private static string Indent(object? value, Arguments a)
    {
        var width = a.Get(0, "width", 4L);
        var indentation = width is string w ? w : new string(' ', (int)Math.Clamp(Values.ToLong(width), 0, 10_000));
        var first = Values.IsTruthy(a.Get(1, "first", false));
        var blank = Values.IsTruthy(a.Get(2, "blank", false));
        var text = Defined(value) as string ?? throw new ChatTemplateException($"unsupported operand type(s) for +=: '{Values.TypeName(value)}' and 'str'");
        var lines = StringMethods.Bind(text + "\n", "splitlines")!.Invoke(Arguments.Empty) as List<object?> ?? [];
        string result;
        if (blank)
        {
            result = string.Join("\n" + indentation, lines);
        }
        else
        {
            result = (string)lines[0]!;
            if (lines.Count > 1)
            {
                result += "\n" + string.Join("\n", lines.Skip(1).Select(l => (string)l! is { Length: > 0 } line ? indentation + line : string.Empty));
            }
        }

        return first ? indentation + result : result;
    }

    private static string Join(object? value, Arguments a)
    {
        var separator = Repr.Str(a.Get(0, "d", string.Empty));
        var items = Values.Iterate(value);
        if (a.Get(1, "attribute") is { } attribute)
        {
            items = items.Select(i => Lookup(i, attribute)).ToList();
        }

        return string.Join(separator, items.Select(Repr.Str));
    }

    /// <summary>jinja2's make_attrgetter: an item by name, with dots for nested names and numbers for indexes.</summary>
    private static object? Lookup(object? item, object? attribute)
    {
        if (attribute is not string path)
        {
            return Members.GetItem(item, attribute);
        }

        foreach (var part in path.Split('.'))
        {
            item = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                ? Members.GetItem(item, index)
                : Members.GetItem(item, part);
        }

        return item;
    }

    private static List<object?> Map(object? value, Arguments a)
    {
        var items = Values.Iterate(value);
        if (a.Positional.Count == 0 && a.Has(-1, "attribute"))
        {
            var attribute = a.Get(-1, "attribute");
            var hasDefault = a.Has(-1, "default");
            var fallback = a.Get(-1, "default");
            return items.Select(i => Lookup(i, attribute) is var r && r is Undefined && hasDefault ? fallback : r).ToList();
        }

        if (a.Positional.Count == 0 || a.Positional[0] is not string filter)
        {
            throw new ChatTemplateException("map requires a filter argument");
        }

        var rest = a.Skip(1);
        return items.Select(i => Apply(filter, i, rest)).ToList();
    }

    private static List<object?> Select(object? value, Arguments a, bool attribute, bool keep)
    {
        var items = Values.Iterate(value);
        var offset = attribute ? 1 : 0;
        var key = attribute ? a.Get(0, "attribute") : null;
        Func<object?, bool> predicate = a.Positional.Count > offset && a.Positional[offset] is string test
            ? v => JinjaTests.Apply(test, v, a.Skip(offset + 1))
            : Values.IsTruthy;
        return items.Where(i => predicate(attribute ? Lookup(i, key) : i) == keep).ToList();
    }

    private static object? SortKey(object? item, object? attribute, bool caseSensitive)
    {
        var key = attribute is null ? item : Lookup(item, attribute);
        return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
    }

    private static List<object?> Sort(object? value, Arguments a)
    {
        var reverse = Values.IsTruthy(a.Get(0, "reverse", false));
        var caseSensitive = Values.IsTruthy(a.Get(1, "case_sensitive", false));
        var attribute = a.Get(2, "attribute");
        var items = Values.Iterate(value).Select(i => (Key: SortKey(i, attribute, caseSensitive), Item: i)).ToList();
        var sorted = items.OrderBy(p => p.Key, Comparer<object?>.Create((x, y) => Values.Compare(x, y, "<"))).ToList();
        if (reverse)
        {
            sorted = items.OrderByDescending(p => p.Key, Comparer<object?>.Create((x, y) => Values.Compare(x, y, "<"))).ToList();
        }

        return sorted.Select(p => p.Item).ToList();
    }

    private static List<object?> Unique(object? value, Arguments a)
    {
        var caseSensitive = Values.IsTruthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute");
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (var item in Values.Iterate(value))
        {
            var key = SortKey(item, attribute, caseSensitive);
            if (!seen.Any(s => Values.AreEqual(s, key)))
            {
                seen.Add(key);
                result.Add(item);
            }
        }

        return result;
    }

    private static object? Extreme(object? value, Arguments a, bool max)
    {
        var caseSensitive = Values.IsTruthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute");
        var items = Values.Iterate(value);
        if (items.Count == 0)
        {
            return Undefined.WithHint("No aggregated item, sequence was empty.");
        }

        var best = items[0];
        var bestKey = SortKey(best, attribute, caseSensitive);
        foreach (var item in items.Skip(1))
        {
            var key = SortKey(item, attribute, caseSensitive);
            var c = Values.Compare(key, bestKey, "<");
            if (max ? c > 0 : c < 0)
            {
                best = item;
                bestKey = key;
            }
        }

        return best;
    }

    private static object? Sum(object? value, Arguments a)
    {
        var attribute = a.Get(0, "attribute");
        var total = a.Get(1, "start", 0L);
        foreach (var item in Values.Iterate(value))
        {
            total = Operators.Binary("+", total, attribute is null ? item : Lookup(item, attribute));
        }

        return total;
    }

    private static object? Round(object? value, Arguments a)
    {
        var precision = (int)Math.Clamp(Values.ToLong(a.Get(0, "precision", 0L)), -15, 15);
        var method = a.Get(1, "method", "common") as string;
        var d = Values.ToDouble(value);
        var scale = Math.Pow(10, precision);
        if (value is long or bool && method == "common")
        {
            return precision >= 0 ? Values.ToLong(value) : (long)(Math.Round(d * scale, MidpointRounding.ToEven) / scale);
        }

        return method switch
        {
            // Python rounds the exact binary value half to even, which is what .NET's fixed-point formatting does.
            "common" when precision >= 0 && double.IsFinite(d) => double.Parse(d.ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            "common" => Math.Round(d * scale, MidpointRounding.ToEven) / scale,
            "ceil" => Math.Ceiling(d * scale) / scale,
            "floor" => Math.Floor(d * scale) / scale,
            _ => throw new ChatTemplateException("method must be common, ceil or floor"),
        };
    }

    private static List<object?> DictSort(object? value, Arguments a)
    {
        if (Defined(value) is not IReadOnlyDictionary<string, object?> dict)
        {
            throw new ChatTemplateException($"'{Values.TypeName(value)}' object has no attribute 'items'");
        }

        var caseSensitive = Values.IsTruthy(a.Get(0, "case_sensitive", false));
        var byValue = a.Get(1, "by", "key") as string == "value";
        var reverse = Values.IsTruthy(a.Get(2, "reverse", false));
        var comparer = Comparer<object?>.Create((x, y) => Values.Compare(x, y, "<"));
        var pairs = dict.Select(p => (Key: SortKey(byValue ? Values.Normalize(p.Value) : p.Key, null, caseSensitive), Pair: (object?)new PyTuple([p.Key, Values.Normalize(p.Value)])));
        var sorted = reverse ? pairs.OrderByDescending(p => p.Key, comparer) : pairs.OrderBy(p => p.Key, comparer);
        return sorted.Select(p => p.Pair).ToList();
    }

    private static List<object?> Batch(object? value, Arguments a)
    {
        var size = Values.ToLong(a.Get(0, "linecount"));
        if (size <= 0)
        {
            throw new ChatTemplateException("batch size must be positive");
        }

        var fill = a.Has(1, "fill_with") ? a.Get(1, "fill_with") : null;
        var hasFill = a.Has(1, "fill_with") && fill is not null;
        var result = new List<object?>();
        List<object?>? current = null;
        foreach (var item in Values.Iterate(value))
        {
            current ??= [];
            current.Add(item);
            if (current.Count == size)
            {
                result.Add(current);
                current = null;
            }
        }

        if (current is not null)
        {
            while (hasFill && current.Count < size)
            {
                current.Add(fill);
            }

            result.Add(current);
        }

        return result;
    }
}
